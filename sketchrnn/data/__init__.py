"""Where the data comes from: QuickDraw categories, files, preprocessing, batching."""
