from takedown.cli import app

if __name__ == "__main__":  # not when a spawned child process re-imports this module
    app()
