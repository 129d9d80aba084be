"Cache your LLM API calls in a file, with one line at the top of a notebook"
__version__ = "0.0.1"
__all__ = ['doms', 'telemetry', 'resp_norm_pats', 'resp_keep', 'enable_cachy', 'disable_cachy', 'cachy', 'no_cachy', 'ReplayMiss',
           'TelemetryBlocked', 'cachy_stats', 'secret_params', 'key_hdrs', 'ignore_fields', 'norm_pats']
_settings = {'doms', 'telemetry', 'resp_norm_pats', 'resp_keep', 'secret_params', 'key_hdrs', 'ignore_fields', 'norm_pats'}

def __getattr__(name):
    "The public names of `cachy.core`, and the submodules, imported when first used (pytest imports the plugin on every run)"
    import importlib
    if name in __all__: return getattr(importlib.import_module('.core', __name__), name)
    if name in ('core', 'key', 'streams', 'store', 'legacy', 'explain', 'creds', 'answer', 'adapters', 'cli', 'pytest_plugin', 'sessions'): return importlib.import_module('.'+name, __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

import sys as _sys,types as _types

class _Package(_types.ModuleType):
    "cachy, where a setting given as `cachy.resp_keep = None` (pycachy's way) is the one every module of cachy reads"
    def __setattr__(self, name, value):
        if name not in _settings: return super().__setattr__(name, value)
        import importlib
        importlib.import_module('.core', __name__)
        for m in list(_sys.modules.values()):
            if getattr(m, '__name__', '').startswith(__name__+'.') and name in vars(m): setattr(m, name, value)

_sys.modules[__name__].__class__ = _Package
