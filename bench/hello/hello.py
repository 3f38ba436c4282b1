"""A bare Flask app for bench/whoami.py: one JSON answer, no servicekit, no database.

Served by gunicorn with the services' settings behind the gateway's configuration,
it is the ceiling an API request through the gateway cannot beat.
"""
from flask import Flask

app = Flask("hello")


@app.get("/api/hello/")
def hello():
    return {"hello": "world"}
