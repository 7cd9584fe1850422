package lambdarag;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * A single-node OpenSearch with the k-NN plugin, for tests on loopback.
 *
 * <p>Usage: {@code EmbeddedNode <state dir> [setting=value ...]}; the state dir holds
 * data, logs and the (empty) config, modules and plugins dirs. Extra settings override
 * the defaults below (the script passes http.port and transport.port).
 *
 * <p>The modules and the plugin are given as classes (the protected Node constructor),
 * so nothing is loaded from plugin directories and OpenSearch's Bootstrap (jar-hell
 * check, security manager, bootstrap checks) is skipped: fine for a test node, not for
 * production.
 */
public final class EmbeddedNode {
    /** The k-NN plugin comes from its zip, unpacked next to the server jars at run time. */
    private static final String KNN_PLUGIN = "org.opensearch.knn.plugin.KNNPlugin";

    private static final String LOG_CONFIG = String.join("\n",
            "status = error",
            "appender.console.type = Console",
            "appender.console.name = console",
            "appender.console.layout.type = PatternLayout",
            "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%c{1.}] %m%n",
            "rootLogger.level = info",
            "rootLogger.appenderRef.console.ref = console",
            // Every mapping call on a 2.x node warns about this; it is noise here.
            "logger.deprecation.name = org.opensearch.deprecation",
            "logger.deprecation.level = error",
            "");

    /** Subclassed only to reach the constructor that takes plugin classes. */
    private static final class TestNode extends Node {
        TestNode(Environment env, List<Class<? extends Plugin>> plugins) {
            super(env, plugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: EmbeddedNode <state dir> [setting=value ...]");
            System.exit(2);
        }
        Path state = Path.of(args[0]).toAbsolutePath();
        // PluginsService lists these even when every plugin comes from the classpath.
        for (String dir : List.of("config", "data", "logs", "modules", "plugins")) {
            Files.createDirectories(state.resolve(dir));
        }
        Settings.Builder b = Settings.builder()
                .put("cluster.name", "lambdarag-test")
                .put("node.name", "lambdarag-test-node")
                .put("discovery.type", "single-node")
                .put("network.host", "127.0.0.1")
                .put("http.port", "9200")
                .put("transport.port", "9300")
                // Explicit: the netty4 module is the only transport there is.
                .put("http.type", "netty4")
                .put("transport.type", "netty4")
                .put("path.home", state.toString())
                .put("path.data", state.resolve("data").toString())
                .put("path.logs", state.resolve("logs").toString())
                // Test machines often have full-ish disks; a flood-stage block would
                // turn every write into an error.
                .put("cluster.routing.allocation.disk.threshold_enabled", false);
        for (int i = 1; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq <= 0) {
                System.err.println("not a setting=value: " + args[i]);
                System.exit(2);
            }
            b.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        Settings settings = b.build();

        Environment env = InternalSettingsPreparer.prepareEnvironment(
                settings, Map.of(), state.resolve("config"), () -> "lambdarag-test-node");
        // Log to the console (the script sends it to a file). Without a log4j2 config,
        // log4j prints errors only, and start-up failures would leave no trace.
        Files.writeString(state.resolve("config/log4j2.properties"), LOG_CONFIG);
        LogConfigurator.registerErrorListener();
        LogConfigurator.configure(env);
        // 2.x class names (3.x renamed them to *ModulePlugin).
        List<Class<? extends Plugin>> plugins = List.of(
                Netty4Plugin.class,
                CommonAnalysisPlugin.class,
                PainlessPlugin.class,
                ReindexPlugin.class,
                Class.forName(KNN_PLUGIN).asSubclass(Plugin.class));
        Node node = new TestNode(env, plugins);

        // Node threads are daemons: main waits until a signal has closed the node.
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                closed.countDown();
            }
        }, "lambdarag-shutdown"));
        try {
            node.start();
        } catch (Exception e) {
            // Exit for sure (a leftover non-daemon thread could keep the JVM up), with the
            // cause near the log's end, where the script's tail shows it.
            e.printStackTrace();
            System.err.println("EmbeddedNode: the node failed to start: " + e);
            System.exit(1);
        }
        closed.await();
    }
}
