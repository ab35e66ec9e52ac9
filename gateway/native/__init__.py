"""The native REST API of the original Sangraha, served beside S3.

``POST /objects`` (JSON), ``POST /objects/image`` and ``/objects/pdf``
(multipart, verified with libmagic), ``GET /objects`` (paged listing per
type), ``GET`` / ``DELETE /objects/{id}``, ``GET /objects/status/{id}``
(asynchronous uploads) and ``GET /health``, stored through the same contract
requests as S3.  See docs/native-api.md.
"""

from gateway.native.api import NativeApp, build_native_app
from gateway.native.routing import is_native

__all__ = ["NativeApp", "build_native_app", "is_native"]
