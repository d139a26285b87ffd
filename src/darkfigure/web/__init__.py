"""The web application over the case store: FastAPI with server-rendered pages in English and Korean.

>>> from darkfigure.web import WebConfig, create_app
>>> create_app(None, WebConfig(session_secret="s" * 32)).title
'darkfigure'
"""

from darkfigure.web.app import create_app
from darkfigure.web.config import WebConfig, session_secret
from darkfigure.web.server import build_app

__all__ = ["WebConfig", "build_app", "create_app", "session_secret"]
