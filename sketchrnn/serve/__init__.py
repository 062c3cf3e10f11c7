"""`sketchrnn serve`: one page and a small JSON API over the trained models of a runs directory.

``models`` loads the predict and draw checkpoints once at startup (the only place the filesystem
is read); ``schemas`` validates every request (sizes, finite numbers) before any model runs;
``app`` builds the FastAPI application, its body-size guard and its ``{"error": ...}`` replies;
``static/`` holds the page (plain HTML/CSS/JS, no build step).
"""
