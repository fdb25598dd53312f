using System.Reflection;
using FlagAnalyzer.Tests.Support;
using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: TestFramework("FlagAnalyzer.Tests.Postgres.PostgresTestFramework", "FlagAnalyzer.Tests.Postgres")]

namespace FlagAnalyzer.Tests.Postgres;

/// <summary>
/// xunit's own framework, except that where PostgreSQL's server is not installed every test of this assembly is
/// reported as skipped, with the package to install, rather than failed 500 times over. (CI installs it: .ci/run.)
/// </summary>
public sealed class PostgresTestFramework(IMessageSink messageSink) : XunitTestFramework(messageSink)
{
    protected override ITestFrameworkExecutor CreateExecutor(AssemblyName assemblyName) =>
        new Executor(assemblyName, SourceInformationProvider, DiagnosticMessageSink);

    private sealed class Executor(AssemblyName assemblyName, ISourceInformationProvider sourceInformation, IMessageSink diagnostics)
        : XunitTestFrameworkExecutor(assemblyName, sourceInformation, diagnostics)
    {
        protected override void RunTestCases(IEnumerable<IXunitTestCase> testCases, IMessageSink executionMessageSink,
            ITestFrameworkExecutionOptions executionOptions)
        {
            if (!PostgresServer.Installed)
                // same method and arguments, so the same unique id: the runner matches each result to its test
                testCases = testCases.Select(c => (IXunitTestCase)new XunitSkippedDataRowTestCase(DiagnosticMessageSink,
                    TestMethodDisplay.ClassAndMethod, TestMethodDisplayOptions.None, c.TestMethod, PostgresServer.MissingMessage,
                    c.TestMethodArguments)).ToList();
            base.RunTestCases(testCases, executionMessageSink, executionOptions);
        }
    }
}
