import sys


def main() -> None:
    if sys.argv[1:2] == ["install"]:
        from .install import main as install
        install(sys.argv[2:])
        return
    from ipykernel.kernelapp import IPKernelApp

    from .kernel import BaleineKernel
    IPKernelApp.launch_instance(kernel_class=BaleineKernel)


main()
