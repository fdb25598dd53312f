namespace FlagAnalyzer.Api.Ui;

public static class UiExtensions
{
    public static WebApplication MapWebUi(this WebApplication app) => app;
}
