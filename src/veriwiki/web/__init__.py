"""``veriwiki serve``: the local web app (read, search, edit, review, health, ask).

A Starlette app (:func:`veriwiki.web.app.create_app`) served by uvicorn. Pages are shown
with the static site's renderer and templates; every vault call runs on one worker
thread (:class:`veriwiki.web.context.WebContext`); security (Host allow-list, Origin
check, CSRF token, login token, path checks) is middleware in :mod:`veriwiki.web.security`.
"""
