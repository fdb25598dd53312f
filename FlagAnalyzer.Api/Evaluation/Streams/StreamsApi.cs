using System.Buffers;
using System.IO.Pipelines;
using System.Globalization;
using System.Text;
using System.Text.Json;
using FlagAnalyzer.Api.Access;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Evaluation.Streams;

/// <summary>
/// OFREP 0.3 event streams (open-feature/protocol <c>service/event-streams.yaml</c>, ADR-0008): <c>GET /ofrep/v1/events</c>
/// is a <c>text/event-stream</c> of <c>refetchEvaluation</c> messages for the environment its URL's credential reaches,
/// and <c>GET /api/streams</c> counts the open ones.
/// </summary>
public static class StreamsApi
{
    public const string Path = "/ofrep/v1/events";
    public const string TokenParameter = "token";

    /// <summary>
    /// The configuration etag of the bulk answer that gave the URL (not under the MAC: altering it only changes whether
    /// its own holder is told to re-fetch at once).
    /// </summary>
    public const string SinceParameter = "since";

    public sealed record StreamServices(StreamHub Hub, ApiKeyVerifier Keys, IOptions<StreamOptions> Options, IOptions<AccessOptions> Access,
        TimeProvider Clock, IHostApplicationLifetime Lifetime);

    /// <summary>Open SDK event streams on the replica that answered, per environment.</summary>
    public sealed record StreamCounts(string Scope, int Total, IReadOnlyList<EnvironmentStreams> Environments);

    /// <param name="Environment">The environment the streams' keys reach; null for keys that reach every environment.</param>
    public sealed record EnvironmentStreams(string? Environment, int Streams);

    public static IEndpointRouteBuilder MapStreamsApi(this IEndpointRouteBuilder app)
    {
        var evaluation = app.ServiceProvider.GetRequiredService<IOptions<EvaluationOptions>>().Value;
        var events = app.MapGet(Path, Stream).WithTags("OFREP").ExcludeFromDescription().WithMetadata(StreamEndpoint.Instance)
            .WithName("OfrepEventStream").WithSummary("OFREP event stream (server-sent events): refetchEvaluation on each relevant change.");
        // EventSource is a GET from the page's origin; the OFREP rate limit is not applied: a stream is one long request,
        // and opening one costs a MAC check
        if (evaluation.CorsOrigins.Length > 0) events.RequireCors(OfrepApi.CorsPolicy);

        // access: read (viewer and up)
        app.MapGet("/api/streams", Counts).WithTags("OFREP")
            .WithName("GetEventStreamCounts").WithSummary("How many SDK event streams are open on this replica, per environment.");
        return app;
    }

    /// <summary>Marks the stream endpoint for <see cref="UseEventStreams"/> and <see cref="StreamConnections"/>.</summary>
    internal sealed class StreamEndpoint
    {
        public static readonly StreamEndpoint Instance = new();
    }

    /// <summary>
    /// Serves the stream endpoint on a branch of its own, first after routing: the edge every request meets (Host check,
    /// forwarded headers, security headers, CORS: <see cref="AccessExtensions.UseEdge"/>), then the stream. An idle stream
    /// is a request held open for hours, and every middleware that awaits the rest of the pipeline holds a frame per
    /// stream: authentication and authorization (with the request's service scope and handler), the exception handler,
    /// status-code pages, the body-size limit, the key check, the rate limiters, flag scope, endpoint dispatch. The
    /// stream checks its own URL credential and answers its own errors without a body, so it needs none of them; the
    /// endpoint stays mapped, so routing, CORS and the access rules see it. Call it before anything else in the pipeline
    /// (and call UseAuthentication/UseAuthorization explicitly after it, or WebApplication puts them first).
    /// </summary>
    public static IApplicationBuilder UseEventStreams(this IApplicationBuilder app)
    {
        var services = app.ApplicationServices.GetRequiredService<StreamServices>();
        return app.MapWhen(
            static http => http.GetEndpoint()?.Metadata.GetMetadata<StreamEndpoint>() is not null,
            branch =>
            {
                AccessExtensions.UseEdge(branch);
                branch.Run(http => Stream(http, services));
            });
    }

    /// <summary>
    /// The <c>eventStreams</c> entry for a bulk answer to <paramref name="http"/>'s caller, or null (streams off, or a caller
    /// no credential can be bound to). <paramref name="period"/> is the URL's issue period, which the bulk ETag includes.
    /// </summary>
    /// <remarks>
    /// The URL carries the configuration etag of <paramref name="answered"/>, the snapshot the bulk answer was made from,
    /// so a stream opened after a change it did not reflect is told to re-fetch at once. The URL changes with the
    /// configuration, which the bulk ETag already does, so a provider reconnects only after a 200.
    /// </remarks>
    public static async ValueTask<(string Url, long Period)?> UrlForAsync(HttpContext http, string? environment, FlagSnapshot answered, StreamServices s)
    {
        var options = s.Options.Value;
        if (!options.Enabled) return null;
        var expires = StreamToken.ExpiryFor(s.Clock.GetUtcNow(), TimeSpan.FromMinutes(Math.Max(1, options.TokenMinutes)), out var period);
        string token;
        if (s.Access.Value.Mode == AuthMode.Disabled) token = "open";
        else
        {
            if (Common.ActorHttpExtensions.GetActor(http)?.KeyId is not { } keyId) return null;
            if (await s.Keys.BoundSecretAsync(keyId, StreamToken.Purpose, fresh: false, http.RequestAborted) is not { } bound) return null;
            token = StreamToken.Issue(new StreamToken.Claims(keyId, environment, expires), bound.Secret);
        }
        var request = http.Request;
        return ($"{request.Scheme}://{request.Host}{request.PathBase}{Path}?{TokenParameter}={Uri.EscapeDataString(token)}&{SinceParameter}={Uri.EscapeDataString(StreamHub.ConfigEtag(answered, environment).Trim('"'))}", period);
    }

    public static async Task Stream(HttpContext http, StreamServices s)
    {
        if (!s.Options.Value.Enabled)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        var (ok, keyId, environment) = await CheckAsync(QueryValue(http, TokenParameter), s, http.RequestAborted);
        if (!ok)
        {
            // no body and no detail: the URL is a secret and whatever is wrong with it is the same answer
            Deny(http, StatusCodes.Status401Unauthorized);
            return;
        }

        var subscriber = new StreamSubscriber(environment, keyId);
        using var membership = s.Hub.Join(subscriber);
        if (membership is null)
        {
            http.Response.Headers.RetryAfter = "5";
            Deny(http, StatusCodes.Status503ServiceUnavailable);
            return;
        }
        // one object per idle stream, woken by the hub (a change, a heartbeat, its key's revocation, the server stopping) or
        // by the client leaving: a registration on the request's token, which exists anyway, not a linked source per stream
        using var aborted = http.RequestAborted.UnsafeRegister(static o => ((StreamSubscriber)o!).Close(), subscriber);

        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache, no-store";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        // the first line reaches the client now, so it knows the stream is open
        http.Response.BodyWriter.Write(": open\n\n"u8);
        PostMissed(s.Hub, subscriber, environment, http.Request.Headers["Last-Event-ID"].ToString(), QueryValue(http, SinceParameter));
        await PumpAsync(http.Response.BodyWriter, subscriber, chunked: false, http.RequestAborted);
    }

    /// <summary>
    /// What a stream is told as it opens: a reconnect that missed a change re-fetches at once (Last-Event-ID, newer than
    /// the URL); so does a first opening after a change its bulk answer did not reflect (the URL's since). Both go
    /// through the subscriber, so a pass's notice coalesces with them.
    /// </summary>
    internal static void PostMissed(StreamHub hub, StreamSubscriber subscriber, string? environment, string? lastEventId, string? since)
    {
        if (lastEventId is { Length: > 0 } last)
        {
            if (hub.Resume(environment, last) is { } missed) subscriber.Post(missed);
        }
        else if (since is { Length: > 0 } && hub.Since(environment, since) is { } changed)
            subscriber.Post(changed);
    }

    private static ReadOnlySpan<byte> Heartbeat => ": heartbeat\n\n"u8;

    /// <summary>
    /// Writes what the subscriber is given (notices, heartbeats) to <paramref name="body"/> until it is closed or the
    /// client leaves, after flushing what is already written. <paramref name="chunked"/>: the caller owns the HTTP/1.1
    /// framing (a stream served below Kestrel's HTTP layer), so each event is written as a chunk and the end as the last one.
    /// </summary>
    internal static async Task PumpAsync(PipeWriter body, StreamSubscriber subscriber, bool chunked, CancellationToken aborted)
    {
        try
        {
            var flushed = await body.FlushAsync(aborted);
            while (!flushed.IsCompleted)
            {
                if (!subscriber.TryTake(out var wake, out var notice))
                {
                    await subscriber.WaitAsync();
                    continue;
                }
                if (wake == StreamWake.Closed)
                {
                    if (chunked)
                    {
                        body.Write("0\r\n\r\n"u8);
                        await body.FlushAsync(aborted);
                    }
                    break;
                }
                WriteEvent(body, wake == StreamWake.Notice ? notice!.Bytes : Heartbeat, chunked);
                flushed = await body.FlushAsync(aborted);
            }
        }
        catch (OperationCanceledException) { } // the client left
    }

    internal static void WriteEvent(IBufferWriter<byte> body, ReadOnlySpan<byte> data, bool chunked)
    {
        if (!chunked)
        {
            body.Write(data);
            return;
        }
        var span = body.GetSpan(data.Length + 16);
        data.Length.TryFormat(span, out var n, "x", CultureInfo.InvariantCulture);
        "\r\n"u8.CopyTo(span[n..]);
        data.CopyTo(span[(n + 2)..]);
        "\r\n"u8.CopyTo(span[(n + 2 + data.Length)..]);
        body.Advance(n + 4 + data.Length);
    }

    /// <summary>Whether the token opens a stream, and for which key and environment: well formed, unexpired, its MAC right for a live key of that environment.</summary>
    internal static async Task<(bool Ok, string? KeyId, string? Environment)> CheckAsync(string? token, StreamServices s, CancellationToken ct)
    {
        if (s.Access.Value.Mode == AuthMode.Disabled) return (true, null, null);
        if (!StreamToken.TryRead(token, out var claims, out var payload, out var mac)) return (false, null, null);
        if (claims.ExpiresUnix <= s.Clock.GetUtcNow().ToUnixTimeSeconds()) return (false, null, null);
        if (await s.Keys.BoundSecretAsync(claims.KeyId, StreamToken.Purpose, fresh: false, ct) is not { } bound) return (false, null, null);
        if (!StreamToken.Verify(payload, mac, bound.Secret)) return (false, null, null);
        // the key's scope is what it reaches now; a token naming another is not one this server issued for it
        if (bound.Key.Environment is { } env && !string.Equals(env, claims.Environment, StringComparison.Ordinal)) return (false, null, null);
        return (true, claims.KeyId, claims.Environment);
    }

    /// <summary>
    /// One query parameter, parsed from the query string and dropped, not through <c>Request.Query</c>, which the request
    /// would keep (its feature, dictionary and strings) for as long as the stream stays open.
    /// </summary>
    private static string? QueryValue(HttpContext http, string name) => QueryValue(http.Request.QueryString.Value, name);

    internal static string? QueryValue(string? queryString, string name) =>
        Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseNullableQuery(queryString) is { } query
        && query.TryGetValue(name, out var value) ? value.ToString() : null;

    private static void Deny(HttpContext http, int status)
    {
        if (http.Features.Get<Microsoft.AspNetCore.Diagnostics.IStatusCodePagesFeature>() is { } pages) pages.Enabled = false;
        http.Response.StatusCode = status;
    }

    public static StreamCounts Counts(StreamHub hub, HttpContext http)
    {
        var actor = Common.ActorHttpExtensions.GetActor(http);
        var visible = hub.CountsByEnvironment()
            .Where(c => actor?.Environment is null || c.Key == actor.Environment)
            .OrderBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => new EnvironmentStreams(c.Key.Length == 0 ? null : c.Key, c.Value)).ToList();
        return new StreamCounts("replica", visible.Sum(e => e.Streams), visible);
    }
}
