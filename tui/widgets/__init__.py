"""The widgets the screens are made of: drawing only, no business logic."""
