using System.Text.Json;
using FlagAnalyzer.Api.Predictions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using FlagAnalyzer.Api.Llm;
using FlagAnalyzer.Tests.Api.Assistant;

namespace FlagAnalyzer.Tests.Api.Llm;

/// <summary>The <c>llm</c> health check against the fake Ollama's <c>/api/tags</c>.</summary>
public sealed class LlmHealthTests
{
    private static async Task<JsonElement> LlmCheckAsync(AssistantApp app) =>
        (await (await app.Client.GetAsync("/health")).ReadJson()).GetProperty("checks").GetProperty("llm");

    [Fact]
    public async Task Health_ModelPulled_IsHealthy()
    {
        await using var app = await AssistantApp.StartAsync(withModel: true);

        var llm = await LlmCheckAsync(app);

        Assert.Equal("Healthy", llm.GetProperty("status").GetString());
        Assert.Contains("serves llama3.3", llm.GetProperty("description").GetString());
    }

    [Fact]
    public void WithModel_ChatClientAndRefinerAreRegistered()
    {
        // checked without starting a fake: registration depends on the connection string alone
        using var api = new ApiFactory();
        api.Settings["ConnectionStrings:llm"] = "Endpoint=http://127.0.0.1:9/;Model=llama3.3";

        Assert.NotNull(api.Services.GetService<IChatClient>());
        Assert.IsType<LlmPredictionRefiner>(Assert.Single(api.Services.GetServices<IPredictionRefiner>()));
    }

    [Fact]
    public void Startup_NonPositiveTimeout_FailsWithTheKeyNamed()
    {
        using var api = new ApiFactory();
        api.Settings["Llm:ChatTimeout"] = "00:00:00";

        var ex = Assert.ThrowsAny<Exception>(() => api.CreateClient());

        Assert.Contains("Llm:ChatTimeout", ex.ToString());
    }

    [Fact]
    public async Task Health_ModelNotPulled_IsDegraded()
    {
        await using var app = await AssistantApp.StartAsync(withModel: true);
        app.Ollama!.PulledModels.Clear();
        app.Ollama.PulledModels.Add("mistral:latest");

        var llm = await LlmCheckAsync(app);

        Assert.Equal("Degraded", llm.GetProperty("status").GetString());
        Assert.Contains("has not pulled llama3.3", llm.GetProperty("description").GetString());
    }

    [Fact]
    public async Task Health_OllamaFailing_IsDegradedAsUnreachable()
    {
        await using var app = await AssistantApp.StartAsync(withModel: true);
        app.Ollama!.TagsStatus = 503;

        var llm = await LlmCheckAsync(app);

        Assert.Equal("Degraded", llm.GetProperty("status").GetString());
        Assert.Contains("is unreachable: statistical analyst only", llm.GetProperty("description").GetString());
    }
}
