"""Bottom-level helpers shared by every tool and package; they import nothing from the project."""
