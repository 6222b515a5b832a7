"""Front ends that make chainrule speak other frameworks' dialects (TensorFlow, MXNet, JAX)."""
