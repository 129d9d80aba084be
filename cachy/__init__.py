"Cache your LLM API calls in a file, with one line at the top of a notebook"
__version__ = "0.0.1"
__all__ = ['doms', 'telemetry', 'resp_norm_pats', 'resp_keep', 'enable_cachy', 'disable_cachy', 'cachy', 'no_cachy', 'ReplayMiss',
           'TelemetryBlocked', 'cachy_stats', 'secret_params', 'key_hdrs', 'ignore_fields', 'norm_pats']

def __getattr__(name):
    "The public names of `cachy.core`, and the submodules, imported when first used (pytest imports the plugin on every run)"
    import importlib
    if name in __all__: return getattr(importlib.import_module('.core', __name__), name)
    if name in ('core', 'key', 'streams', 'store', 'legacy', 'explain', 'creds', 'answer', 'adapters', 'cli', 'pytest_plugin'): return importlib.import_module('.'+name, __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
