"""The line each CPU benchmark prints first: the CPU model, its widest vector ISA, the threads."""
import platform


def cpu_line(threads):
    model = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        model = next(line.split(":", 1)[1].strip() for line in info.splitlines()
                     if line.startswith("model name"))
        isa = "AVX-512" if "avx512f" in info else "AVX2" if "avx2" in info else "SSE"
    except (OSError, StopIteration):
        isa = "?"
    return f"CPU: {model} ({isa}), {threads} threads"
