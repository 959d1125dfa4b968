package io.cowherd.e2e.kernel.guest;

import io.cowherd.agent.backend.CowRequest;
import io.cowherd.agent.backend.DmSnapshotBackend;
import io.cowherd.agent.host.SlotId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs in the guest as a separate JVM that a scenario SIGKILLs at a chosen moment: provisions
 * slots {@code 0..count-1} of pool {@code pool} in namespace {@code kt} with the dm-snapshot
 * backend on {@code threads} threads at once (as the agent's reconcilers do), printing {@code slot
 * N: provisioning} and {@code slot N: provisioned} lines.
 *
 * <p>Arguments: {@code STATE_DIR ORIGIN POOL COUNT THREADS}
 */
public final class ProvisionSlotsMain {
  private ProvisionSlotsMain() {}

  public static void main(String[] args) throws Exception {
    Path stateDir = Path.of(args[0]);
    Path origin = Path.of(args[1]);
    String pool = args[2];
    int count = Integer.parseInt(args[3]);
    int threads = Integer.parseInt(args[4]);
    DmSnapshotBackend backend = GuestHost.backend(stateDir);
    long sizeBytes = Files.size(origin);
    List<Future<?>> done = new ArrayList<>();
    try (ExecutorService pool4 = Executors.newFixedThreadPool(threads)) {
      for (int n = 0; n < count; n++) {
        int slot = n;
        done.add(pool4.submit(() -> {
          say("slot " + slot + ": provisioning");
          backend.provision(new CowRequest(new SlotId("kt", pool, slot), origin, sizeBytes, 64));
          say("slot " + slot + ": provisioned");
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    }
    say("all " + count + " slots provisioned");
  }

  private static synchronized void say(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
