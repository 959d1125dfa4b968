package io.cowherd.operator.support;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.AsyncBody;
import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.http.Interceptor;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A client acting as a ServiceAccount through impersonation (the admin client's certificate may
 * impersonate anyone): requests are authorized with exactly that ServiceAccount's RBAC rights. Every
 * response with HTTP 403 Forbidden is recorded, so a test can assert that none happened.
 */
public final class Identity implements AutoCloseable {
  private final String username;
  private final KubernetesClient client;
  private final List<String> forbidden = new CopyOnWriteArrayList<>();

  private Identity(String username, KubernetesClient client) {
    this.username = username;
    this.client = client;
  }

  /**
   * Impersonates {@code system:serviceaccount:<namespace>:<name>} with the groups the API server
   * gives every ServiceAccount token.
   */
  public static Identity serviceAccount(String adminKubeConfig, String namespace, String name) {
    String username = "system:serviceaccount:" + namespace + ":" + name;
    Config config = new ConfigBuilder(Config.fromKubeconfig(adminKubeConfig))
        .withImpersonateUsername(username)
        .withImpersonateGroups("system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated")
        .build();
    Identity[] self = new Identity[1];
    KubernetesClient client = new KubernetesClientBuilder()
        .withConfig(config)
        .withHttpClientBuilderConsumer(b -> b.addOrReplaceInterceptor("record-forbidden", new Interceptor() {
          @Override
          public void after(HttpRequest request, HttpResponse<?> response, AsyncBody.Consumer<List<ByteBuffer>> consumer) {
            if (response.code() == 403) {
              self[0].forbidden.add(request.method() + " " + request.uri());
            }
          }

          @Override
          public CompletableFuture<Boolean> afterFailure(BasicBuilder builder, HttpResponse<?> response, RequestTags tags) {
            if (response.code() == 403) {
              self[0].forbidden.add("(retry check) " + response.request().method() + " " + response.request().uri());
            }
            return CompletableFuture.completedFuture(false);
          }
        }))
        .build();
    self[0] = new Identity(username, client);
    return self[0];
  }

  /** The impersonating client. */
  public KubernetesClient client() {
    return client;
  }

  /** The impersonated user name. */
  public String username() {
    return username;
  }

  /** Every request answered 403 so far, as {@code METHOD uri}. */
  public List<String> forbiddenRequests() {
    return List.copyOf(forbidden);
  }

  @Override
  public void close() {
    client.close();
  }
}
