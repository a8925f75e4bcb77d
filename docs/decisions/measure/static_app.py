"""Starlette's StaticFiles over a built site, under uvicorn with the stack the publisher
uses (httptools, uvloop), one worker, on 127.0.0.1 (decision 0004). Run it in a scratch
venv: /tmp/adr-venv/bin/pip install starlette==1.10.0 uvicorn==0.55.0 httptools uvloop

    /tmp/adr-venv/bin/python docs/decisions/measure/static_app.py SITE PORT
"""

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

app = Starlette(routes=[Mount("/", StaticFiles(directory=sys.argv[1], html=True))])
uvicorn.run(
    app,
    host="127.0.0.1",
    port=int(sys.argv[2]),
    loop="uvloop",
    http="httptools",
    log_level="warning",
    access_log=False,
)
