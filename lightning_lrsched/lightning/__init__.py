"""The Lightning adapter: callbacks that hold a core schedule, the module plugin, metrics, logging."""
