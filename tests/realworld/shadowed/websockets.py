"""A learner's own experiment, named after the library: it hides websockets."""
print("my websockets experiment")
