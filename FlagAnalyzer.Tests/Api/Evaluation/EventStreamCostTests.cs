using System.Collections.Concurrent;
using System.Net.Http.Json;
using FlagAnalyzer.Api.Evaluation.Streams;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Support;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FlagAnalyzer.Tests.Api.Evaluation;

/// <summary>
/// What an idle OFREP event stream costs the replica holding it (issue 28: 10,000 idle streams under 100 MiB): the
/// stream's request skips the middlewares that would each hold a pending frame for it, and heartbeats do not make every
/// stream write at once. The memory itself is measured by the <c>ofrep-streams</c> benchmark.
/// </summary>
public sealed class EventStreamCostTests
{
    [Fact]
    public async Task OpenStream_IsNotRunThroughAuthentication_WhileAKeyedApiRequestIs()
    {
        var recording = new AuthenticationRecording();
        var paths = recording.Paths;
        using var app = new ApiFactory { ConfigureServices = recording.AddTo };
        var key = await app.CreateClient().CreateKeyAsync("sdk", "production");
        var sdk = app.CreateClient().WithKey(key.Secret);
        var bulk = await (await sdk.PostAsJsonAsync("/ofrep/v1/evaluate/flags", new { context = new { targetingKey = "u" } })).ReadJson();
        var url = bulk.GetProperty("eventStreams")[0].GetProperty("url").GetString()!;

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        using var response = await app.CreateClient().WithoutKey().SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var timeout = new CancellationTokenSource(Wait.Arrival);
        Assert.Equal(": open", await reader.ReadLineAsync(timeout.Token));

        // the recorder sees what goes through authentication (OFREP evaluations have a lean branch of their own too, whose
        // access check asks the key verifier directly: OfrepApi.UseOfrepEvaluation)
        (await app.CreateClient().GetAsync("/api/flags")).EnsureSuccessStatusCode();
        Assert.Contains("/api/flags", paths);
        Assert.DoesNotContain(StreamsApi.Path, paths);
    }

    [Fact]
    public async Task RevokingAKey_ClosesItsStreamsStillOpen_AfterAnotherOfItsStreamsLeft()
    {
        using var app = new ApiFactory();
        var admin = app.CreateClient();
        var key = await admin.CreateKeyAsync("sdk", "production");
        var other = await admin.CreateKeyAsync("sdk", "production");
        var hub = app.Services.GetRequiredService<StreamHub>();
        var left = new StreamSubscriber("production", key.Id);
        var open = new StreamSubscriber("production", key.Id);
        var bystander = new StreamSubscriber("production", other.Id);
        var leaving = hub.Join(left)!;
        using var stays = hub.Join(open)!;
        using var unrelated = hub.Join(bystander)!;
        leaving.Dispose(); // one of the key's two streams leaves; the key still has one open

        (await admin.PostAsync($"/api/keys/{key.Id}/revoke", null)).EnsureSuccessStatusCode();

        using (var timeout = new CancellationTokenSource(Wait.Arrival))
        {
            StreamWake wake; // heartbeats may come first: the writer's own loop, until it is told to close
            while (!open.TryTake(out wake, out _) || wake != StreamWake.Closed) await open.WaitAsync().WaitAsync(timeout.Token);
        }
        Assert.False(bystander.IsClosed);
        Assert.False(left.IsClosed); // it had left: nothing holds it any more
    }

    [Fact]
    public async Task Heartbeats_ReachEachStreamOncePerPeriod_SpreadOverThePeriodsSlices()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero)); // the hub's own timer stays still
        using var app = new ApiFactory { ConfigureServices = s => s.AddSingleton<TimeProvider>(clock) };
        _ = app.CreateClient();
        var hub = app.Services.GetRequiredService<StreamHub>();
        var slices = StreamHub.SlicesPerBeat(new StreamOptions().HeartbeatSeconds);
        Assert.True(slices > 1, $"one slice per period: {slices}");

        const int streams = 600;
        var subscribers = Enumerable.Range(0, streams).Select(_ => new StreamSubscriber("production", null)).ToList();
        var memberships = subscribers.Select(s => hub.Join(s)!).ToList();
        try
        {
            var beats = new int[streams];
            var largestTick = 0;
            for (long tick = 0; tick < slices; tick++)
            {
                hub.Beat(tick, slices);
                var beatenNow = 0;
                for (var i = 0; i < streams; i++)
                {
                    if (!subscribers[i].BeatDue) continue;
                    Assert.True(subscribers[i].TryTake(out var wake, out _));
                    Assert.Equal(StreamWake.Beat, wake);
                    beats[i]++;
                    beatenNow++;
                }
                largestTick = Math.Max(largestTick, beatenNow);
            }
            Assert.All(beats, b => Assert.Equal(1, b));
            // 600 streams over the slices average 600 / slices each; all at once would be 600
            Assert.True(largestTick <= 4 * streams / slices, $"{largestTick} of {streams} streams beat in one tick of {slices}");
        }
        finally
        {
            foreach (var m in memberships) m.Dispose();
        }
    }
}
