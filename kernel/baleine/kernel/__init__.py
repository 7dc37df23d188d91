"""The Jupyter kernel "Baleine (docker)": a persistent bash where `docker` is Baleine.

`python -m baleine.kernel install [--user|--sys-prefix|--prefix P]` installs the kernelspec;
`python -m baleine.kernel -f CONNECTION_FILE` runs the kernel (what Jupyter does).
See README.md beside this file.
"""

KERNEL_NAME = "baleine"
DISPLAY_NAME = "Baleine (docker)"
