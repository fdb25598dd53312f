using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Access;
using FlagAnalyzer.Api.Evaluation;
using FlagAnalyzer.Api.Evaluation.Streams;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Evaluation;

/// <summary>
/// OFREP 0.3 event streams over the real API (open-feature/protocol service/event-streams.yaml and ADR-0008): a real
/// HTTP client reads the <c>text/event-stream</c> line by line until the event it waits for or <see cref="Wait.Arrival"/>.
/// Nothing here depends on the revisions' values (0 until the change feed assigns them).
/// </summary>
public sealed class EventStreamTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _admin;

    public EventStreamTests() => _admin = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    private async Task<string> CreateFlagAsync(string name, string environment)
    {
        var r = await _admin.PostAsJsonAsync("/api/flags", new { name, enabled = true, rolloutPercentage = 100, targetEnvironment = environment });
        Assert.True(r.StatusCode == HttpStatusCode.Created, await r.Content.ReadAsStringAsync());
        return (await r.ReadJson()).GetProperty("id").GetString()!;
    }

    private async Task SetEnabledAsync(string id, bool enabled)
    {
        var r = await _admin.PatchAsJsonAsync($"/api/flags/{id}", new { enabled });
        Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
    }

    private async Task<(HttpClient Sdk, string KeyId, string Secret)> SdkAsync(string environment)
    {
        var key = await _admin.CreateKeyAsync("sdk", environment);
        return (_app.CreateClient().WithKey(key.Secret), key.Id, key.Secret);
    }

    private static async Task<HttpResponseMessage> BulkAsync(HttpClient client, string query = "", string? ifNoneMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/ofrep/v1/evaluate/flags" + query)
        {
            Content = JsonContent.Create(new { context = new { targetingKey = "user-1" } }),
        };
        if (ifNoneMatch is not null) request.Headers.IfNoneMatch.Add(EntityTagHeaderValue.Parse(ifNoneMatch));
        return await client.SendAsync(request);
    }

    private static async Task<string> StreamUrlAsync(HttpClient sdk)
    {
        var body = await (await BulkAsync(sdk)).ReadJson();
        return body.GetProperty("eventStreams")[0].GetProperty("url").GetString()!;
    }

    /// <summary>An open stream read as events; comments (open, heartbeats) are skipped.</summary>
    private sealed class Sse(HttpResponseMessage response, StreamReader reader) : IDisposable
    {
        public HttpResponseMessage Response => response;

        public static async Task<Sse> OpenAsync(HttpClient client, string url, string? lastEventId = null)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Accept.ParseAdd("text/event-stream");
            if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            return new Sse(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
        }

        /// <summary>The next event's id and parsed data; null when the server ended the stream.</summary>
        public async Task<(string? Id, JsonElement Data)?> NextAsync(TimeSpan? within = null)
        {
            using var timeout = new CancellationTokenSource(within ?? Wait.Arrival);
            string? id = null, data = null;
            while (true)
            {
                var line = await reader.ReadLineAsync(timeout.Token);
                if (line is null) return null;
                if (line.Length == 0)
                {
                    if (data is not null) return (id, JsonDocument.Parse(data).RootElement.Clone());
                    continue;
                }
                if (line.StartsWith(':')) continue;
                if (line.StartsWith("id: ", StringComparison.Ordinal)) id = line[4..];
                else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line[6..];
            }
        }

        /// <summary>Reads up to the stream's opening comment, so the stream is registered before the test changes anything.</summary>
        public async Task OpenedAsync()
        {
            using var timeout = new CancellationTokenSource(Wait.Arrival);
            Assert.Equal(": open", await reader.ReadLineAsync(timeout.Token));
            Assert.Equal("", await reader.ReadLineAsync(timeout.Token));
        }

        public void Dispose()
        {
            reader.Dispose();
            response.Dispose();
        }
    }

    [Fact]
    public async Task BulkAnswer_ListsAnSseStream_WhoseUrlDoesNotCarryTheKey()
    {
        var (sdk, _, secret) = await SdkAsync("production");
        var body = await (await BulkAsync(sdk)).ReadJson();

        var stream = Assert.Single(body.GetProperty("eventStreams").EnumerateArray());
        Assert.Equal("sse", stream.GetProperty("type").GetString());
        var url = new Uri(stream.GetProperty("url").GetString()!);
        Assert.Equal(StreamsApi.Path, url.AbsolutePath);
        Assert.Contains("token=", url.Query);
        Assert.DoesNotContain(secret, url.ToString());
        Assert.DoesNotContain(secret[..12], url.ToString()); // not even the key's visible prefix
        Assert.True(stream.GetProperty("inactivityDelaySec").GetInt32() >= 1);
    }

    [Fact]
    public async Task ChangeInTheStreamsEnvironment_SendsRefetchEvaluation_AndTheRefetchSeesIt()
    {
        var flag = await CreateFlagAsync("stream-prod", "production");
        var (sdk, _, _) = await SdkAsync("production");
        var first = await BulkAsync(sdk);
        var etag = first.Headers.ETag!.ToString();
        var url = (await first.ReadJson()).GetProperty("eventStreams")[0].GetProperty("url").GetString()!;
        using var sse = await Sse.OpenAsync(_app.CreateClient().WithoutKey(), url);
        Assert.Equal(HttpStatusCode.OK, sse.Response.StatusCode);
        Assert.Equal("text/event-stream", sse.Response.Content.Headers.ContentType!.MediaType);
        await sse.OpenedAsync();

        await SetEnabledAsync(flag, false);

        var e = await sse.NextAsync();
        Assert.NotNull(e);
        Assert.Equal("refetchEvaluation", e.Value.Data.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(e.Value.Id));
        var configEtag = e.Value.Data.GetProperty("etag").GetString()!;

        // what the provider does next: re-fetch with the etag as flagConfigEtag and its old ETag as If-None-Match
        var refetch = await BulkAsync(sdk, $"?flagConfigEtag={Uri.EscapeDataString(configEtag)}", etag);
        Assert.Equal(HttpStatusCode.OK, refetch.StatusCode);
        var served = (await refetch.ReadJson()).GetProperty("flags").EnumerateArray().Single(f => f.GetProperty("key").GetString() == "stream-prod");
        Assert.False(served.GetProperty("value").GetBoolean());
    }

    [Fact]
    public async Task ChangeInAnotherEnvironment_SendsNothing()
    {
        var prod = await CreateFlagAsync("stream-mine", "production");
        var staging = await CreateFlagAsync("stream-other", "staging");
        var (sdk, _, _) = await SdkAsync("production");
        using var sse = await Sse.OpenAsync(_app.CreateClient().WithoutKey(), await StreamUrlAsync(sdk));
        await sse.OpenedAsync();
        var hub = _app.Services.GetRequiredService<StreamHub>();

        var passed = hub.NextPassAsync();
        await SetEnabledAsync(staging, false);
        await passed.WaitAsync(Wait.Arrival); // the hub has looked at the staging change
        await SetEnabledAsync(prod, false);

        // had the staging change sent an event, it would come first, with the configuration before the production change
        var e = await sse.NextAsync();
        Assert.NotNull(e);
        var now = StreamHub.ConfigEtag(_app.Services.GetRequiredService<FlagSnapshotStore>().Current, "production");
        Assert.Equal(now, e.Value.Data.GetProperty("etag").GetString());
    }

    [Fact]
    public async Task Reconnect_WithLastEventId_AfterAMissedChange_RefetchesAtOnce()
    {
        var flag = await CreateFlagAsync("stream-resume", "production");
        var (sdk, _, _) = await SdkAsync("production");
        var url = await StreamUrlAsync(sdk);
        string lastId;
        using (var sse = await Sse.OpenAsync(_app.CreateClient().WithoutKey(), url))
        {
            await sse.OpenedAsync();
            await SetEnabledAsync(flag, false);
            lastId = (await sse.NextAsync())!.Value.Id!;
        }

        var hub = _app.Services.GetRequiredService<StreamHub>();
        var passed = hub.NextPassAsync();
        await SetEnabledAsync(flag, true); // while no stream is open
        await passed.WaitAsync(Wait.Arrival);

        using var again = await Sse.OpenAsync(_app.CreateClient().WithoutKey(), url, lastId);
        var missed = await again.NextAsync();
        Assert.NotNull(missed);
        Assert.Equal("refetchEvaluation", missed.Value.Data.GetProperty("type").GetString());
        Assert.Equal(StreamHub.ConfigEtag(_app.Services.GetRequiredService<FlagSnapshotStore>().Current, "production"),
            missed.Value.Data.GetProperty("etag").GetString());
    }

    [Fact]
    public async Task ChangeBetweenTheBulkAnswerAndTheStreamsOpening_IsSentAtOnce()
    {
        var flag = await CreateFlagAsync("stream-gap", "production");
        var (sdk, _, _) = await SdkAsync("production");
        var url = await StreamUrlAsync(sdk); // the provider has its answer and the URL, and has not opened the stream yet

        var hub = _app.Services.GetRequiredService<StreamHub>();
        var passed = hub.NextPassAsync();
        await SetEnabledAsync(flag, false); // no stream is open to hear it
        await passed.WaitAsync(Wait.Arrival);

        using var sse = await Sse.OpenAsync(_app.CreateClient().WithoutKey(), url);
        var e = await sse.NextAsync();
        Assert.NotNull(e);
        Assert.Equal("refetchEvaluation", e.Value.Data.GetProperty("type").GetString());
        Assert.Equal(StreamHub.ConfigEtag(_app.Services.GetRequiredService<FlagSnapshotStore>().Current, "production"),
            e.Value.Data.GetProperty("etag").GetString());
    }

    [Fact]
    public async Task StreamOpenedFromACurrentAnswer_OrAfterAnotherEnvironmentsChange_IsNotToldToRefetch()
    {
        var prod = await CreateFlagAsync("stream-current", "production");
        var staging = await CreateFlagAsync("stream-elsewhere", "staging");
        var (sdk, _, _) = await SdkAsync("production");
        var url = await StreamUrlAsync(sdk);
        var hub = _app.Services.GetRequiredService<StreamHub>();
        var passed = hub.NextPassAsync();
        await SetEnabledAsync(staging, false); // between the answer and the opening, but not in production
        await passed.WaitAsync(Wait.Arrival);

        using var sse = await Sse.OpenAsync(_app.CreateClient().WithoutKey(), url);
        await sse.OpenedAsync();
        await SetEnabledAsync(prod, false);

        // a needless refetch at opening would come first, with the configuration before the production change
        var e = await sse.NextAsync();
        Assert.NotNull(e);
        Assert.Equal(StreamHub.ConfigEtag(_app.Services.GetRequiredService<FlagSnapshotStore>().Current, "production"),
            e.Value.Data.GetProperty("etag").GetString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("?token=")]
    [InlineData("?token=not-a-token")]
    [InlineData("?token=key_00000000000000000000000000.cHJvZHVjdGlvbg.99999999999.AAAAAAAAAAAAAAAAAAAAAA")]
    public async Task StreamWithoutAValidToken_Is401(string query)
    {
        using var r = await _app.CreateClient().WithoutKey().GetAsync(StreamsApi.Path + query, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
    }

    [Fact]
    public async Task TamperedToken_Is401_TheIssuedOneIsNot()
    {
        var (sdk, _, _) = await SdkAsync("production");
        var url = await StreamUrlAsync(sdk);
        var token = Uri.UnescapeDataString(url[(url.IndexOf("token=", StringComparison.Ordinal) + 6)..]);
        var parts = token.Split('.');
        // the same MAC over another environment, and over a later expiry
        var otherEnvironment = $"{parts[0]}.{System.Buffers.Text.Base64Url.EncodeToString("staging"u8)}.{parts[2]}.{parts[3]}";
        var longer = $"{parts[0]}.{parts[1]}.{long.Parse(parts[2]) + 3600}.{parts[3]}";
        var client = _app.CreateClient().WithoutKey();

        using (var issued = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead))
            Assert.Equal(HttpStatusCode.OK, issued.StatusCode);
        foreach (var forged in new[] { otherEnvironment, longer })
        {
            using var r = await client.GetAsync($"{StreamsApi.Path}?token={Uri.EscapeDataString(forged)}", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        }
    }

    [Fact]
    public async Task Stream_StillPassesTheHostCheck_AndCarriesTheSecurityHeaders()
    {
        // the stream is served on a branch before the key check: the Host check and security headers must still run on it
        var (sdk, _, _) = await SdkAsync("production");
        var pathAndQuery = new Uri(await StreamUrlAsync(sdk)).PathAndQuery;
        var foreign = _app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { BaseAddress = new Uri("http://evil.example") }).WithoutKey();

        using (var served = await _app.CreateClient().WithoutKey().GetAsync(pathAndQuery, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
            Assert.Equal(["nosniff"], served.Headers.GetValues("X-Content-Type-Options"));
        }
        using var refused = await foreign.GetAsync(pathAndQuery, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }

    [Fact]
    public async Task ExpiredToken_Is401()
    {
        var (_, keyId, _) = await SdkAsync("production");
        var bound = await _app.Services.GetRequiredService<ApiKeyVerifier>().BoundSecretAsync(keyId, StreamToken.Purpose, fresh: true, default);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var client = _app.CreateClient().WithoutKey();
        string Url(long expires) => $"{StreamsApi.Path}?token={Uri.EscapeDataString(StreamToken.Issue(new StreamToken.Claims(keyId, "production", expires), bound!.Value.Secret))}";

        using (var live = await client.GetAsync(Url(now + 600), HttpCompletionOption.ResponseHeadersRead))
            Assert.Equal(HttpStatusCode.OK, live.StatusCode); // the same token, unexpired, opens
        using var expired = await client.GetAsync(Url(now - 1), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
    }

    [Fact]
    public async Task RevokedKey_ItsUrlIs401_AndItsOpenStreamEnds()
    {
        var (sdk, keyId, _) = await SdkAsync("production");
        var url = await StreamUrlAsync(sdk);
        using var open = await Sse.OpenAsync(_app.CreateClient().WithoutKey(), url);
        await open.OpenedAsync();

        await _admin.RevokeAsync(keyId);

        Assert.Null(await open.NextAsync()); // the server ended it
        using var r = await _app.CreateClient().WithoutKey().GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
    }

    [Fact]
    public async Task StreamCounts_ShowOpenStreamsPerEnvironment()
    {
        var (sdk, _, _) = await SdkAsync("production");
        using var sse = await Sse.OpenAsync(_app.CreateClient().WithoutKey(), await StreamUrlAsync(sdk));
        await sse.OpenedAsync();

        var counts = await (await _admin.GetAsync("/api/streams")).ReadJson();
        var production = counts.GetProperty("environments").EnumerateArray().Single(e => e.GetProperty("environment").GetString() == "production");
        Assert.Equal(1, production.GetProperty("streams").GetInt32());
        Assert.Equal("replica", counts.GetProperty("scope").GetString());

        sse.Dispose();
        Assert.True(await Wait.Until(async () =>
            !(await (await _admin.GetAsync("/api/streams")).ReadJson()).GetProperty("environments").EnumerateArray().Any()));
    }
}
