from takedown.cli import app

app()
