using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using FlagAnalyzer.Api.Predictions;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Llm;

/// <summary>
/// Refines committed statistical predictions with the language model, off the request path: a bounded queue
/// drained by one background worker. A good answer replaces the verdict (<c>source: llm:&lt;model&gt;</c>) and
/// publishes <c>prediction.updated</c>; a timeout, an error or an unusable answer leaves the statistical
/// prediction as it is and is logged.
/// </summary>
public sealed partial class LlmPredictionRefiner : BackgroundService, IPredictionRefiner
{
    private static readonly ChatResponseFormat Format = ChatResponseFormat.ForJsonSchema(
        JsonDocument.Parse(Prompts.PredictionSchema).RootElement.Clone(), "prediction", "A flag change's risk prediction");

    private readonly Channel<(Prediction Prediction, PredictionInput Input)> _queue;
    private readonly IChatClient _chat;
    private readonly LlmConnection _llm;
    private readonly LlmOptions _options;
    private readonly Db _db;
    private readonly ILiveEventPublisher _live;
    private readonly TimeProvider _clock;
    private readonly ILogger<LlmPredictionRefiner> _logger;

    public LlmPredictionRefiner(IChatClient chat, LlmConnection llm, IOptions<LlmOptions> options, Db db, ILiveEventPublisher live,
        TimeProvider clock, ILogger<LlmPredictionRefiner> logger)
    {
        (_chat, _llm, _options, _db, _live, _clock, _logger) = (chat, llm, options.Value, db, live, clock, logger);
        _queue = Channel.CreateBounded<(Prediction, PredictionInput)>(
            new BoundedChannelOptions(_options.RefinementQueue) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true },
            dropped => LogQueueFull(dropped.Item1.Id));
    }

    public void Enqueue(Prediction prediction, PredictionInput input) => _queue.Writer.TryWrite((prediction, input));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var (prediction, input) in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await RefineAsync(prediction, input, stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogKept(ex, prediction.Id, "the refinement failed unexpectedly");
            }
        }
    }

    /// <summary>One refinement; returns the updated prediction, or null when the statistical one stays.</summary>
    public async Task<Prediction?> RefineAsync(Prediction prediction, PredictionInput input, CancellationToken ct)
    {
        List<ChatMessage> messages =
        [
            new(ChatRole.System, Prompts.PredictionSystem),
            new(ChatRole.User, Prompts.ForPrediction(BuildInput(prediction, input).ToJsonString(Json.Options))),
        ];
        var chatOptions = new ChatOptions { ResponseFormat = Format, Temperature = 0 };

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.PredictionTimeout);
        var started = Stopwatch.GetTimestamp();
        ChatResponse response;
        try
        {
            response = await _chat.GetResponseAsync(messages, chatOptions, timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            LogKept(null, prediction.Id, $"no answer within {_options.PredictionTimeout.TotalSeconds:0.#} s");
            return null;
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            LogKept(ex, prediction.Id, "the model call failed");
            return null;
        }

        if (!LlmAssessment.TryParse(response.Text, out var a, out var error))
        {
            LogKept(null, prediction.Id, $"the answer was unusable: {error}");
            return null;
        }
        if (a!.Clamped.Count > 0) LogClamped(prediction.Id, string.Join(", ", a.Clamped));

        var evidence = (JsonObject)prediction.Evidence.DeepClone();
        evidence["statistical"] = new JsonObject
        {
            ["riskLevel"] = prediction.RiskLevel.ToWire(),
            ["riskScore"] = prediction.RiskScore,
            ["confidence"] = prediction.Confidence,
        };
        evidence["llm"] = new JsonObject
        {
            ["model"] = _llm.Model,
            ["durationMs"] = Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds),
            ["clamped"] = new JsonArray([.. a.Clamped.Select(c => (JsonNode)c)]),
        };
        var updated = prediction with
        {
            RiskLevel = a.RiskLevel,
            RiskScore = a.RiskScore,
            PredictedImpact = a.PredictedImpact,
            Recommendations = a.Recommendations,
            Confidence = a.Confidence,
            Reasoning = a.Reasoning,
            Evidence = evidence,
            Source = _llm.Source,
            UpdatedAt = _clock.GetUtcNow(),
        };

        await using (var conn = await _db.OpenAsync(ct))
        {
            if (!await PredictionStore.UpdateAsync(conn, null, updated, ct))
            {
                LogKept(null, prediction.Id, "the prediction no longer exists");
                return null;
            }
        }
        LogRefined(prediction.Id, _llm.Model, prediction.RiskLevel.ToWire(), updated.RiskLevel.ToWire());
        await _live.PublishAsync(new LiveEvent(LiveEventTypes.PredictionUpdated, updated, updated.FlagId) { Environment = updated.Environment }, ct);
        return updated;
    }

    /// <summary>What the model is shown: the flag, the change, the statistical verdict with its evidence, and context.</summary>
    internal static JsonObject BuildInput(Prediction p, PredictionInput input)
    {
        static JsonNode? State(Flags.Flag? f) => f is null ? null : new JsonObject
        {
            ["enabled"] = f.Enabled,
            ["rolloutPercentage"] = f.RolloutPercentage,
            ["targetEnvironment"] = f.TargetEnvironment,
        };
        var after = input.After;
        return new JsonObject
        {
            ["flag"] = new JsonObject
            {
                ["name"] = after.Name,
                ["description"] = after.Description,
                ["owner"] = after.Owner,
                ["tags"] = new JsonArray([.. after.Tags.Select(t => (JsonNode)t)]),
                ["autoRollback"] = after.AutoRollback,
            },
            ["change"] = new JsonObject
            {
                ["changeType"] = input.Change.ChangeType.ToWire(),
                ["before"] = State(input.Before),
                ["after"] = State(after),
                ["changedBy"] = input.Change.ChangedBy,
                ["environment"] = input.Change.Environment,
                ["timestamp"] = input.Change.Timestamp,
            },
            ["statisticalPrediction"] = new JsonObject
            {
                ["riskLevel"] = p.RiskLevel.ToWire(),
                ["riskScore"] = p.RiskScore,
                ["predictedImpact"] = JsonSerializer.SerializeToNode(p.PredictedImpact, Json.Options),
                ["recommendations"] = JsonSerializer.SerializeToNode(p.Recommendations, Json.Options),
                ["confidence"] = p.Confidence,
                ["reasoning"] = p.Reasoning,
                ["evidence"] = p.Evidence.DeepClone(),
            },
            ["metricsBeforeChange"] = JsonSerializer.SerializeToNode(MetricSummary.Summarise(after.Id, input.History, null), Json.Options),
            ["changesInLast7Days"] = input.RecentChanges.Count,
            ["activeAnomalies"] = new JsonArray([.. input.ActiveAnomalies.Take(10).Select(a => (JsonNode)new JsonObject
            {
                ["type"] = a.Type.ToWire(),
                ["severity"] = a.Severity.ToWire(),
                ["metric"] = a.Metric,
                ["changePercent"] = a.ChangePercent,
            })]),
        };
    }

    [LoggerMessage(1, LogLevel.Warning, "Prediction {PredictionId} keeps its statistical verdict: {Reason}")]
    private partial void LogKept(Exception? ex, string predictionId, string reason);

    [LoggerMessage(2, LogLevel.Information, "Prediction {PredictionId} refined by {Model}: {Before} -> {After}")]
    private partial void LogRefined(string predictionId, string model, string before, string after);

    [LoggerMessage(3, LogLevel.Warning, "Prediction {PredictionId}: the model's values were out of range and clamped: {Fields}")]
    private partial void LogClamped(string predictionId, string fields);

    [LoggerMessage(4, LogLevel.Warning, "Prediction {PredictionId} keeps its statistical verdict: the refinement queue is full")]
    private partial void LogQueueFull(string predictionId);
}
