package io.cowherd.aoe;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Import rules of the module, checked on the sources: {@code java.lang.foreign} only in
 * {@code net}; {@code frame} depends on the JDK only; arrows run initiator → net → frame; nothing
 * Kubernetes.
 */
class ArchitectureTest {

    private static final Path MAIN = Path.of("src/main/java/io/cowherd/aoe");
    private static final Pattern IMPORT = Pattern.compile("^import (?:static )?([\\w.]+)", Pattern.MULTILINE);

    private static Map<String, List<String>> importsByFile(String subPackage) {
        Map<String, List<String>> imports = new TreeMap<>();
        try (Stream<Path> files = Files.walk(MAIN.resolve(subPackage))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String source = Files.readString(file);
                Matcher m = IMPORT.matcher(source);
                List<String> names = new java.util.ArrayList<>();
                while (m.find()) {
                    names.add(m.group(1));
                }
                // fully qualified uses count too
                if (source.contains("java.lang.foreign.")) {
                    names.add("java.lang.foreign");
                }
                imports.put(MAIN.relativize(file).toString(), names);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return imports;
    }

    @Test
    void onlyTheNetPackageUsesJavaLangForeign() {
        for (String pkg : List.of("frame", "initiator")) {
            importsByFile(pkg).forEach((file, imports) ->
                    assertThat(imports).as(file).noneMatch(i -> i.startsWith("java.lang.foreign")));
        }
        assertThat(importsByFile("net").entrySet()).filteredOn(e -> e.getValue().stream()
                        .anyMatch(i -> i.startsWith("java.lang.foreign")))
                .extracting(Map.Entry::getKey)
                .containsExactlyInAnyOrder("net/Libc.java", "net/RawSocket.java", "net/NetNs.java", "net/PacketRing.java");
    }

    @Test
    void theFramePackageDependsOnTheJdkOnly() {
        importsByFile("frame").forEach((file, imports) ->
                assertThat(imports).as(file).allMatch(i -> i.startsWith("java.") || i.startsWith("io.cowherd.aoe.frame")));
    }

    @Test
    void netNeverReachesUpToTheInitiator() {
        importsByFile("net").forEach((file, imports) ->
                assertThat(imports).as(file).noneMatch(i -> i.startsWith("io.cowherd.aoe.initiator")));
    }

    @Test
    void nothingKnowsKubernetesOrOtherModules() {
        for (String pkg : List.of("frame", "net", "initiator")) {
            importsByFile(pkg).forEach((file, imports) -> assertThat(imports).as(file)
                    .allMatch(i -> i.startsWith("java.") || i.startsWith("io.cowherd.aoe.") || i.startsWith("org.slf4j.")));
        }
    }
}
