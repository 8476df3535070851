"""The engine that executes mapping specs: source readers, transforms, and the domain builder."""
