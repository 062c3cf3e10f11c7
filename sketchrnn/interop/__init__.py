"""Moving draw models to and from magenta-js (@magenta/sketch, ml5): its .gen.json format."""
