namespace FlagAnalyzer.AppHost;

/// <summary>
/// Ollama in a container, its models kept in a volume; the model is pulled when the container starts.
/// Connection string: <c>Endpoint=http://host:port;Model=NAME</c>, what the API's LLM client reads.
/// </summary>
public sealed class OllamaResource(string name, ParameterResource model) : ContainerResource(name), IResourceWithConnectionString
{
    internal const string EndpointName = "http";

    public ParameterResource Model { get; } = model;

    public EndpointReference Endpoint => field ??= new EndpointReference(this, EndpointName);

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"Endpoint={Endpoint.Property(EndpointProperty.Url)};Model={Model}");
}

public static class OllamaResourceExtensions
{
    // serve, wait until the server answers, pull the model (a no-op when the volume has it), keep serving
    private const string ServeAndPull =
        "ollama serve & until ollama list >/dev/null 2>&1; do sleep 1; done; ollama pull \"$OLLAMA_MODEL\"; wait";

    public static IResourceBuilder<OllamaResource> AddOllama(this IDistributedApplicationBuilder builder, string name,
        IResourceBuilder<ParameterResource> model) =>
        builder.AddResource(new OllamaResource(name, model.Resource))
            .WithImage("ollama/ollama", "latest")
            .WithVolume("flaganalyzer-ollama", "/root/.ollama")
            .WithHttpEndpoint(targetPort: 11434, name: OllamaResource.EndpointName)
            .WithEntrypoint("/bin/sh")
            .WithArgs("-c", ServeAndPull)
            .WithEnvironment("OLLAMA_MODEL", model)
            .WithHttpHealthCheck("/", endpointName: OllamaResource.EndpointName);
}
