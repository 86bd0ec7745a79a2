"""SpectralSplats for Blender: register()/unregister() only."""
