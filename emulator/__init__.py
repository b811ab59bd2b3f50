"""Local emulator of the platforms' web APIs and pages (Bilibili, Douyin) for tests, benchmarks and the demo.

It is the outside world: it imports nothing from takedown, crawlers or reports. See README.md in this folder
for the URL contract; `emulator.app.create_app` builds the ASGI app, `emulator.server.running` runs it.
"""
