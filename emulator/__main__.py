"""`python -m emulator --port 8300 --seed 7 --size 2000 [--smtp-port 0]`"""

from __future__ import annotations

import argparse

from .server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator", description="Local emulator of the platforms' web APIs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", type=int, default=2000, help="posts per platform (100 ... 1,000,000)")
    parser.add_argument("--smtp-host", default="127.0.0.1", help="address of the SMTP complaint inbox")
    parser.add_argument("--smtp-port", type=int, default=0,
                        help="port of the SMTP complaint inbox: 0 = a free one (GET /_emu/smtp), -1 = none")
    args = parser.parse_args(argv)
    serve(host=args.host, port=args.port, seed=args.seed, size=args.size,
          smtp_port=None if args.smtp_port < 0 else args.smtp_port, smtp_host=args.smtp_host)


if __name__ == "__main__":
    main()
