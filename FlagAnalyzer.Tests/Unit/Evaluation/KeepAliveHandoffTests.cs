using System.Buffers;
using System.IO.Pipelines;
using FlagAnalyzer.Api.Evaluation.Streams;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace FlagAnalyzer.Tests.Unit.Evaluation;

/// <summary>
/// When a keep-alive connection may be taken back from Kestrel (<see cref="KeepAliveHandoff"/>): only after a request
/// whose every byte Kestrel has consumed, so the next bytes are a request's first, never a body's. The smuggling attempt
/// on a real connection is <c>EventStreamConnectionTests.StreamHeadSentAsTheUnreadBodyOfAnEarlierRequest_…</c>; whether it
/// arrives while Kestrel still drains is up to the network, so the rule itself is pinned here.
/// </summary>
public sealed class KeepAliveHandoffTests
{
    private sealed class RequestBodyPipeFeature(PipeReader reader) : IRequestBodyPipeFeature
    {
        public PipeReader Reader => reader;
    }

    private sealed class BodyDetection(bool canHaveBody) : IHttpRequestBodyDetectionFeature
    {
        public bool CanHaveBody => canHaveBody;
    }

    private sealed class Upgrade(bool upgradable) : IHttpUpgradeFeature
    {
        public bool IsUpgradableRequest => upgradable;
        public Task<Stream> UpgradeAsync() => throw new NotSupportedException();
    }

    private static KeepAliveHandoff Handoff()
    {
        var pipe = new Pipe();
        return new KeepAliveHandoff(null!, null!, new DuplexPipe(pipe.Reader, pipe.Writer), heartbeat: null);
    }

    private sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;

    private static DefaultHttpContext Request(string protocol = "HTTP/1.1", byte[]? body = null, bool upgradable = false)
    {
        var context = new DefaultHttpContext();
        context.Request.Protocol = protocol;
        context.Features.Set<IHttpRequestBodyDetectionFeature>(new BodyDetection(body is not null));
        context.Features.Set<IHttpUpgradeFeature>(new Upgrade(upgradable));
        if (body is not null)
        {
            // a pipe, as Kestrel's body reader is: a completed body still answers TryRead once it is all read
            var pipe = new Pipe();
            pipe.Writer.Write(body.AsSpan());
            pipe.Writer.Complete();
            context.Features.Set<IRequestBodyPipeFeature>(new RequestBodyPipeFeature(pipe.Reader));
        }
        return context;
    }

    private static async Task ReadToEndAsync(HttpContext context)
    {
        while (true)
        {
            var read = await context.Request.BodyReader.ReadAsync();
            context.Request.BodyReader.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted) return;
        }
    }

    [Fact]
    public void RequestWithoutABody_EndsAtACleanBoundary()
    {
        var handoff = Handoff();
        handoff.MarkIfClean(Request());
        Assert.True(handoff.AtBoundary);
    }

    [Fact]
    public async Task RequestWhoseBodyWasReadToTheEnd_EndsAtACleanBoundary()
    {
        var handoff = Handoff();
        var context = Request(body: "{\"context\":{}}"u8.ToArray());
        await ReadToEndAsync(context);
        handoff.MarkIfClean(context);
        Assert.True(handoff.AtBoundary);
    }

    [Fact]
    public void RequestWhoseBodyWasNotRead_ClaimsNoBoundary()
    {
        var handoff = Handoff();
        handoff.MarkIfClean(Request(body: "GET /ofrep/v1/events?token=t HTTP/1.1\r\nHost: h\r\n\r\n"u8.ToArray()));
        Assert.False(handoff.AtBoundary);
    }

    [Fact]
    public async Task RequestWhoseBodyWasReadInPart_ClaimsNoBoundary()
    {
        var handoff = Handoff();
        var context = Request(body: new byte[64]);
        var read = await context.Request.BodyReader.ReadAsync();
        context.Request.BodyReader.AdvanceTo(read.Buffer.GetPosition(10));
        handoff.MarkIfClean(context);
        Assert.False(handoff.AtBoundary);
    }

    [Theory]
    [InlineData("HTTP/2")]
    [InlineData("HTTP/1.0")]
    public void RequestNotOnHttp11_ClaimsNoBoundary(string protocol)
    {
        var handoff = Handoff();
        handoff.MarkIfClean(Request(protocol));
        Assert.False(handoff.AtBoundary);
    }

    [Fact]
    public void UpgradableRequest_ClaimsNoBoundary()
    {
        var handoff = Handoff();
        handoff.MarkIfClean(Request(upgradable: true));
        Assert.False(handoff.AtBoundary);
    }

    [Fact]
    public async Task KestrelsNextRead_UsesUpTheBoundary_SoOnlyTheRequestRightAfterItIsLookedAt()
    {
        var pipe = new Pipe();
        var handoff = new KeepAliveHandoff(null!, null!, new DuplexPipe(pipe.Reader, pipe.Writer), heartbeat: null);
        handoff.MarkIfClean(Request());
        await pipe.Writer.WriteAsync("POST /ofrep/v1/evaluate/flags HTTP/1.1\r\n"u8.ToArray());

        var read = await handoff.Input.ReadAsync(); // not a stream head: handed on as read, without the owner
        Assert.Equal(40, read.Buffer.Length);
        Assert.False(handoff.AtBoundary);
        handoff.Input.AdvanceTo(read.Buffer.End);
    }
}
