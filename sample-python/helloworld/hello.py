import os

print(f"Hello {os.environ.get('NAME', 'world')}!")
