# libheapprof.so exports the malloc family, mmap/mmap64/munmap/mremap (the
# leak scan's program mappings), dlopen/dlclose, exec* and heapprof_* - and
# nothing else (STYLE.md: -fvisibility=hidden).
. "$HP_SRC/tests/integration/rec_lib.inc"
command -v nm >/dev/null || { echo "nm not installed"; exit 77; }
allowed="malloc free calloc realloc reallocarray posix_memalign aligned_alloc memalign
valloc pvalloc malloc_usable_size mmap mmap64 munmap mremap dlopen dlclose execve execv execvp execvpe execl execlp
execle heapprof_active heapprof_flush"
syms=$(nm -D --defined-only "$LIB" | awk '{print $3}' | sed 's/@.*//' | sort -u)
[ -n "$syms" ] || fail "no exported symbols"
for s in $syms; do
    case " $(echo $allowed) " in *" $s "*) ;; *) fail "unexpected export: $s" ;; esac
done
for s in malloc free calloc realloc posix_memalign aligned_alloc memalign valloc \
         malloc_usable_size mmap mmap64 munmap mremap dlopen dlclose execve heapprof_active \
         heapprof_flush; do
    echo "$syms" | grep -qx "$s" || fail "missing export: $s"
done
echo pass
