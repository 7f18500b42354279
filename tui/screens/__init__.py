"""The app's screens, one module each: they show what the app decides and post what the person asks."""
