# An unchanged OpenAI app in Python: the SDK reads OPENAI_BASE_URL and OPENAI_API_KEY.
# With HOLD set it waits for stdin to close, so the test can read this process's memory.
import json, os, sys
from openai import OpenAI

client = OpenAI()
messages = [{"role": "user", "content": "hi"}]
completion = client.chat.completions.create(model="gpt-test", messages=messages)
stream = [c.choices[0].delta.content for c in client.chat.completions.create(model="gpt-test", messages=messages, stream=True)
          if c.choices and c.choices[0].delta.content]
print(json.dumps({"text": completion.choices[0].message.content, "stream": stream, "pid": os.getpid()}), flush=True)
if os.environ.get("HOLD"):
    sys.stdin.read()
