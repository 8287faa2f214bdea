"""The LLM gateway's key check, run inside the LiteLLM proxy (not by the program): the program ships
this file beside the proxy's config file in its ConfigMap, and the config names it
(`general_settings.custom_auth: gateway_auth.user_api_key_auth`); LiteLLM loads a custom auth module
from the config file's folder.

Why: without a database, LiteLLM 1.108.0 answers a request with no key, or a key other than its
master key, with a 500 and a traceback (its own check raises a bare exception, and turning that
into a 401 imports prisma, which `litellm[proxy]` does not install). This check accepts the master
key only, compared in constant time, and refuses anything else with the proxy's own 401 error.
"""

import secrets

from litellm.constants import LITELLM_PROXY_MASTER_KEY_ALIAS
from litellm.proxy._types import LitellmUserRoles, ProxyErrorTypes, ProxyException, UserAPIKeyAuth


def _refused(message):
    return ProxyException(message=message, type=ProxyErrorTypes.auth_error, param="None", code=401, headers={"WWW-Authenticate": "Bearer"})


async def user_api_key_auth(request, api_key):
    # The master key as the proxy resolved it from general_settings.master_key (os.environ/...).
    from litellm.proxy.proxy_server import litellm_proxy_admin_name, master_key

    if not isinstance(master_key, str) or not master_key:
        raise _refused("Authentication Error: the gateway has no key configured.")
    if not api_key:
        raise _refused("Authentication Error: no API key (Authorization: Bearer <gateway key>).")
    if not secrets.compare_digest(api_key.encode(), master_key.encode()):
        raise _refused("Authentication Error: invalid API key.")
    # What LiteLLM's own master key check returns: an alias, never the key, so that the key ends up
    # in no cache key, log line or metric label.
    return UserAPIKeyAuth(api_key=LITELLM_PROXY_MASTER_KEY_ALIAS, user_id=litellm_proxy_admin_name, user_role=LitellmUserRoles.PROXY_ADMIN)
