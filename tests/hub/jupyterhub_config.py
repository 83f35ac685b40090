"""A JupyterHub as The Littlest JupyterHub runs one: every user on this one machine.

``tests/test_hub.py`` starts ``jupyterhub -f`` this file; what changes from run to run (the
ports, the folders, the programs) comes in through the environment variables named
``CHATLIB_HUB_*`` (see :data:`hub.SETTINGS`), so the file reads as an instructor's config:

- everything listens on 127.0.0.1: the hub's public address, the hub itself, the proxy's API;
- ``configurable-http-proxy`` from npm (``tests/js``) is the proxy, as on every JupyterHub;
- the shared-password authenticator (JupyterHub 5.3+): any user name, one class password;
- the simple local-process spawner: each user's server is a process of this machine, with a
  home folder of its own (where the course is copied) but the same loopback for all;
- each user's server is ``jupyterhub-singleuser`` of the course's virtual environment,
  opening JupyterLab, with ``--allow-root`` when the hub runs as root (containers, CI).
"""

import os

c = get_config()  # noqa: F821 (JupyterHub defines get_config for its config files)
setting = os.environ.__getitem__  # A missing setting is a KeyError that names it.

c.JupyterHub.bind_url = f"http://127.0.0.1:{setting('CHATLIB_HUB_PORT')}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(setting("CHATLIB_HUB_API_PORT"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{setting('CHATLIB_HUB_PROXY_API_PORT')}"
c.ConfigurableHTTPProxy.command = [setting("CHATLIB_HUB_PROXY")]
c.ConfigurableHTTPProxy.should_start = True

# The hub's own state, in the test's folder: nothing is read from or left in /srv or ~.
state = setting("CHATLIB_HUB_STATE")
c.JupyterHub.db_url = f"sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{state}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{state}/jupyterhub.pid"

c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = setting("CHATLIB_HUB_PASSWORD")
c.Authenticator.allow_all = True  # Any user name, as in a class that signs up on the day.

c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = setting("CHATLIB_HUB_HOMES") + "/{username}"
c.Spawner.cmd = [setting("CHATLIB_HUB_SINGLEUSER")]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.Spawner.args = [
    # window.jupyterapp: the test reads each notebook's model, not its page.
    "--LabApp.expose_app_in_browser=True",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
]
if os.geteuid() == 0:
    c.Spawner.args.append("--allow-root")
