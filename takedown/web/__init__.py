"""The review web app: FastAPI with server-rendered Jinja2 pages (autoescaped, Chinese UI) and a JSON API.

- app.py       `create_app(settings=None, engine=None)`: middleware (signed session cookie, security headers),
               routers, error pages
- security.py  sessions, login/role checks, CSRF, CSP and other headers
- routes/      public (login, health), pages (queue, post, authors, dashboard, audit, docs), admin (users), api
- present.py   Chinese labels, local times, conflict messages, rule-match highlighting, filters from queries
- queries.py   read models for the pages and the API (post details, authors by risk, dashboard, audit log)
- serve.py     `serve(database_url, host, port)` and `ensure_demo_user(engine)` for `takedown serve` and the demo
- static/      app.js (keyboard queue, bulk, undo; plain JS) and app.css, no build step.
               static/vendor/htmx.min.js is htmx 2.0.11 (0BSD, licence next to it), taken unchanged from the npm
               package: `npm pack htmx.org@2.0.11` and its dist/htmx.min.js. htmx does the partial page updates
               (filters and paging of the queue, the post page's decision panel, the dashboard's crawl runs);
               app.js uses fetch() against /api/ for the queue's keyboard actions.
"""
