package io.cowherd.agent.host;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread that learns of the exit of any number of processes that are not the agent's children
 * (exporters started through {@code setsid --fork}, so {@code waitpid(2)} cannot be used): one
 * pidfd per process ({@code pidfd_open(2)}, Linux 5.3 or later: "a PID file descriptor can be
 * monitored using poll(2) [...] When the process that it refers to terminates, these interfaces
 * indicate the file descriptor as readable"), all of them in one {@code poll(2)} together with an
 * {@code eventfd(2)} that wakes the thread when the set changes. Costs nothing while no process
 * exits; thread count does not grow with the processes watched.
 *
 * <p>Pid reuse: after {@code pidfd_open} the pid's start time is compared with the {@link LivePid}
 * ({@link VbladeProcesses#alive}); a pidfd then refers to that process for good, even after its pid
 * is handed out again. A process already gone when it is registered is reported at once.
 *
 * <p>Native calls through {@code java.lang.foreign} (as the aoe module's raw sockets); the JVM
 * needs {@code --enable-native-access}. {@link #open} returns empty where the kernel lacks
 * {@code pidfd_open} (ENOSYS) or native access is refused; callers then poll {@code /proc}.
 */
@SuppressWarnings("restricted")
public final class ExitWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ExitWatcher.class);
  /** {@code __NR_pidfd_open}: 434 on every architecture (asm-generic/unistd.h, unified numbering from 424 on). */
  private static final long SYS_PIDFD_OPEN = 434;
  private static final int POLLIN = 0x1;
  private static final int EFD_CLOEXEC = 0x80000;
  private static final int EFD_NONBLOCK = 0x800;
  private static final int EINTR = 4;
  /** struct pollfd (poll(2)): int fd; short events; short revents. */
  private static final int POLLFD_BYTES = 8;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

  /** The downcalls, resolved once on first use (absent: no native access). */
  private static final class Calls {
    final MethodHandle syscall = call("syscall", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT),
        Linker.Option.firstVariadicArg(1));
    final MethodHandle poll = call("poll", FunctionDescriptor.of(JAVA_INT, java.lang.foreign.ValueLayout.ADDRESS,
        JAVA_LONG, JAVA_INT));
    final MethodHandle eventfd = call("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    final MethodHandle read = call("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT,
        java.lang.foreign.ValueLayout.ADDRESS, JAVA_LONG));
    final MethodHandle write = call("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT,
        java.lang.foreign.ValueLayout.ADDRESS, JAVA_LONG));
    final MethodHandle close = call("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private static MethodHandle call(String name, FunctionDescriptor d, Linker.Option... more) {
      Linker.Option[] options = new Linker.Option[more.length + 1];
      options[0] = Linker.Option.captureCallState("errno");
      System.arraycopy(more, 0, options, 1, more.length);
      return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), d, options);
    }
  }

  private final Calls calls;
  private final VbladeProcesses processes;
  private final Consumer<LivePid> onExit;
  private final int wakeFd;
  private final Arena arena = Arena.ofShared();
  private final MemorySegment wakeValue;
  /** Watched processes by their pidfd; guarded by this. */
  private final Map<Integer, LivePid> watched = new HashMap<>();
  /**
   * pidfds of forgotten processes, closed by the watcher thread once its poll(2) returned: closing
   * one while a poll holds it would let its number be reused by the next {@link #watch} and a
   * wake-up meant for the old file be taken for the new process's exit; guarded by this.
   */
  private final List<Integer> retired = new ArrayList<>();
  /** Processes found gone when registered, reported by the thread (never on the caller's); guarded by this. */
  private final List<LivePid> goneAtOnce = new ArrayList<>();
  private final Thread thread;
  private volatile boolean closed;

  private ExitWatcher(Calls calls, int wakeFd, VbladeProcesses processes, Consumer<LivePid> onExit) {
    this.calls = calls;
    this.wakeFd = wakeFd;
    this.processes = processes;
    this.onExit = onExit;
    this.wakeValue = arena.allocate(JAVA_LONG);
    wakeValue.set(JAVA_LONG, 0, 1L);
    this.thread = Thread.ofPlatform().daemon().name("exporter-exits").unstarted(this::run);
  }

  /**
   * Starts the watcher thread.
   *
   * @param processes reads a pid's start time, to tell a reused pid from the registered process
   * @param onExit called on the watcher thread with each registered process that ended (or was
   *     already gone when registered); must not block long
   * @return empty if the kernel has no {@code pidfd_open} or native access is not allowed (logged)
   */
  public static Optional<ExitWatcher> open(VbladeProcesses processes, Consumer<LivePid> onExit) {
    Calls calls;
    try {
      calls = new Calls();
    } catch (RuntimeException | Error e) {
      LOG.warn("no native access for pidfd_open(2) ({}); exporter exits are polled from /proc", e.toString());
      return Optional.empty();
    }
    try (Arena a = Arena.ofConfined()) {
      MemorySegment capture = a.allocate(CAPTURE_LAYOUT);
      long probe = (long) calls.syscall.invokeExact(capture, SYS_PIDFD_OPEN, (int) ProcessHandle.current().pid(), 0);
      if (probe < 0) {
        LOG.warn("pidfd_open(2) failed (errno {}, Linux 5.3 or later needed); exporter exits are polled from /proc",
            (int) ERRNO.get(capture, 0L));
        return Optional.empty();
      }
      int ignored = (int) calls.close.invokeExact(capture, (int) probe);
      int efd = (int) calls.eventfd.invokeExact(capture, 0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (efd < 0) {
        LOG.warn("eventfd(2) failed (errno {}); exporter exits are polled from /proc", (int) ERRNO.get(capture, 0L));
        return Optional.empty();
      }
      ExitWatcher w = new ExitWatcher(calls, efd, processes, onExit);
      w.thread.start();
      return Optional.of(w);
    } catch (Throwable t) {
      LOG.warn("pidfd_open(2) unusable ({}); exporter exits are polled from /proc", t.toString());
      return Optional.empty();
    }
  }

  /**
   * Watches {@code process}: {@code onExit} is called once, on the watcher thread, when it ends
   * (right away if it already has). Registering one process twice watches it twice.
   */
  public void watch(LivePid process) {
    int fd;
    try (Arena a = Arena.ofConfined()) {
      MemorySegment capture = a.allocate(CAPTURE_LAYOUT);
      fd = (int) (long) calls.syscall.invokeExact(capture, SYS_PIDFD_OPEN, (int) process.pid(), 0);
    } catch (Throwable t) {
      throw new IllegalStateException("pidfd_open downcall failed", t);
    }
    boolean gone = fd < 0 || !processes.alive(process); // ESRCH: gone; or the pid belongs to a later process
    if (gone && fd >= 0) {
      closeFd(fd);
    }
    synchronized (this) {
      if (closed) {
        if (!gone) {
          closeFd(fd);
        }
        return;
      }
      if (gone) {
        goneAtOnce.add(process);
      } else {
        watched.put(fd, process);
      }
    }
    wake();
  }

  /** Stops watching {@code process} (no call for it any more); no-op if it is not watched. */
  public void forget(LivePid process) {
    synchronized (this) {
      watched.entrySet().removeIf(e -> {
        if (e.getValue().equals(process)) {
          retired.add(e.getKey()); // closed by the watcher thread after its poll returns
          return true;
        }
        return false;
      });
    }
    wake();
  }

  /** How many processes are watched. */
  public synchronized int size() {
    return watched.size();
  }

  private void run() {
    MemorySegment capture = arena.allocate(CAPTURE_LAYOUT);
    MemorySegment drain = arena.allocate(JAVA_LONG);
    MemorySegment fds = MemorySegment.NULL;
    int capacity = 0;
    while (!closed) {
      List<Integer> order;
      synchronized (this) {
        order = new ArrayList<>(watched.keySet());
      }
      int n = order.size() + 1;
      if (n > capacity) {
        capacity = Math.max(n, capacity * 2);
        fds = arena.allocate((long) capacity * POLLFD_BYTES, 8);
      }
      fds.set(JAVA_INT, 0, wakeFd);
      fds.set(JAVA_SHORT, 4, (short) POLLIN);
      fds.set(JAVA_SHORT, 6, (short) 0);
      for (int i = 0; i < order.size(); i++) {
        fds.set(JAVA_INT, (long) (i + 1) * POLLFD_BYTES, order.get(i));
        fds.set(JAVA_SHORT, (long) (i + 1) * POLLFD_BYTES + 4, (short) POLLIN);
        fds.set(JAVA_SHORT, (long) (i + 1) * POLLFD_BYTES + 6, (short) 0);
      }
      int ready;
      try {
        ready = (int) calls.poll.invokeExact(capture, fds, (long) n, -1);
      } catch (Throwable t) {
        LOG.error("poll(2) downcall failed; exporter exit watcher stops", t);
        return;
      }
      if (ready < 0) {
        int errno = (int) ERRNO.get(capture, 0L);
        if (errno != EINTR) {
          LOG.error("poll(2) failed with errno {}; exporter exit watcher stops", errno);
          return;
        }
        continue;
      }
      if (fds.get(JAVA_SHORT, 6) != 0) {
        try {
          long ignored = (long) calls.read.invokeExact(capture, wakeFd, drain, 8L); // resets the eventfd counter
        } catch (Throwable t) {
          throw new IllegalStateException("read downcall failed", t);
        }
      }
      List<LivePid> ended = new ArrayList<>();
      synchronized (this) {
        retired.forEach(this::closeFd); // not in the next snapshot: their numbers may be reused from now on
        retired.clear();
        ended.addAll(goneAtOnce);
        goneAtOnce.clear();
        for (int i = 0; i < order.size(); i++) {
          if (fds.get(JAVA_SHORT, (long) (i + 1) * POLLFD_BYTES + 6) == 0) {
            continue;
          }
          int fd = order.get(i);
          LivePid p = watched.remove(fd); // null: forgotten meanwhile (its fd was retired and is closed above)
          if (p != null) {
            closeFd(fd);
            ended.add(p);
          }
        }
      }
      for (LivePid p : ended) {
        try {
          onExit.accept(p);
        } catch (RuntimeException e) {
          LOG.error("exit handler failed for pid {}", p.pid(), e);
        }
      }
    }
  }

  private void wake() {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment capture = a.allocate(CAPTURE_LAYOUT);
      long ignored = (long) calls.write.invokeExact(capture, wakeFd, wakeValue, 8L);
    } catch (Throwable t) {
      throw new IllegalStateException("write downcall failed", t);
    }
  }

  private void closeFd(int fd) {
    try (Arena a = Arena.ofConfined()) {
      int ignored = (int) calls.close.invokeExact(a.allocate(CAPTURE_LAYOUT), fd);
    } catch (Throwable t) {
      throw new IllegalStateException("close downcall failed", t);
    }
  }

  /** Stops the thread and closes every pidfd; the processes are not touched. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    wake();
    try {
      thread.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (this) {
      watched.keySet().forEach(this::closeFd);
      watched.clear();
      retired.forEach(this::closeFd);
      retired.clear();
    }
    closeFd(wakeFd);
    if (!thread.isAlive()) {
      arena.close();
    }
  }
}
