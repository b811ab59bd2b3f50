"""Scrapy and scrapy-playwright settings. `crawlers.run` overrides the per-crawl ones (database, delay)."""

BOT_NAME = "takedown"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

# The crawl collects public posts for enforcement; platform robots.txt files disallow search paths wholesale.
ROBOTSTXT_OBEY = False
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # no listening port of our own during a crawl

# Politeness (PLATFORMS.md): one request at a time per platform, 1-3 s jittered pauses.
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 2.0
DOWNLOAD_DELAY_JITTER = 0.5  # each pause drawn from 0.5-1.5 x DOWNLOAD_DELAY
DOWNLOAD_TIMEOUT = 30

# 5xx bursts are retried; 429 is not: rate limiting stops the platform's crawl (see the spider).
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
DOWNLOAD_HANDLERS = {
    "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
}
PLAYWRIGHT_BROWSER_TYPE = "chromium"
# The system Chromium: browsers are never downloaded at run time. Flags that work on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PLAYWRIGHT_LAUNCH_OPTIONS = {"executable_path": "/usr/bin/chromium", "headless": True, "args": CHROMIUM_ARGS}
# The page's requests keep the browser's own headers: Scrapy's User-Agent on the page's XHR would not match
# navigator.userAgent, which request signing reads (and which real risk control compares).
PLAYWRIGHT_PROCESS_REQUEST_HEADERS = None
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4

# Middlewares that do nothing for our requests, and cost each page its share of the chain (4% of the crawl
# process's CPU together): the adapters set the Referer each platform expects themselves, build every URL
# (no length to police) and follow no links (no depth); no site asks for HTTP auth or answers a search with a
# meta refresh; and the meta-copy check is a development aid for spiders that copy response.meta, which ours
# never do. The proxy middleware stays: a deployment may route through one.
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.referer.RefererMiddleware": None,
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
}
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
}

ITEM_PIPELINES = {"crawlers.pipelines.StorePipeline": 300}
# A response yields one result page (and the next request): Scrapy starts this many tasks for every callback's
# output whatever it holds, and its default of 100 cost a tenth of the crawl process's time in task churn.
CONCURRENT_ITEMS = 4
# A development aid that parses the callback's source for every response (its cache is keyed by the bound method,
# a new object each time): 0.7 ms a page. Our callbacks are covered by tests instead.
WARN_ON_GENERATOR_RETURN_VALUE = False

# takedown's own settings for the crawl
TAKEDOWN_DATABASE_URL = ""
TAKEDOWN_QUEUE_THRESHOLD = 0.5
# Seconds to wait for a browser page's search response before recording a timeout.
TAKEDOWN_BROWSER_RESPONSE_TIMEOUT = 20.0

LOG_LEVEL = "INFO"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TAKEDOWN_STORE_IN_PROCESS = False  # True: score and store in the crawl process (see crawlers/page_store.py)
