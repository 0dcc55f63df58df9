using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Accounts;
using Serverless.Functions.Health;
using Serverless.Functions.Http;
using Serverless.Functions.Items;
using Serverless.Functions.Mail;
using Serverless.Functions.OpenApi;
using Serverless.Functions.Storage;
using Serverless.Functions.Telemetry;

namespace Serverless.Functions;

/// <summary>The app's services, shared by Program.cs and the tests so both run the same composition.</summary>
public static class AppComposition
{
    public static IServiceCollection AddServerlessApp(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddTableStorage(configuration);
        services.TryAddSingleton(TimeProvider.System);

        // The Azure SDK logs every request URI at Information, and our keys are in those URIs.
        services.AddLogging(logging => logging.AddFilter("Azure", LogLevel.Warning));

        // Telemetry: the app's meter; OpenTelemetry to Application Insights only when APPLICATIONINSIGHTS_CONNECTION_STRING is set.
        services.AddAppTelemetry(configuration);

        // HTTP: the exception boundary and bearer authentication that every function runs behind.
        services.AddSingleton<ExceptionBoundary>();
        services.AddSingleton<BearerAuthenticator>();

        // Accounts: settings checked now, so a missing signing key stops start-up.
        services.AddSingleton(AuthOptions.FromConfiguration(configuration));
        services.AddSingleton<PasswordPolicy>();
        services.AddSingleton<PasswordHasher>();
        services.AddSingleton<AccessTokens>();
        services.AddSingleton<UserStore>();
        services.AddSingleton<RefreshTokenStore>();
        services.AddSingleton<LoginThrottleStore>();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<AccountService>();

        // Mail: settings checked now; SMTP locally (smtp4dev), Azure Communication Services in Azure. The outbox keeps
        // every mail until it is sent, and its timer (MailOutboxFunction) sends what a request could not.
        services.AddMail(configuration);

        // Items.
        services.AddSingleton<ItemCursor>();
        services.AddSingleton<ItemStore>();
        services.AddSingleton<ItemService>();

        services.AddSingleton<HealthCheck>();
        services.AddSingleton<OpenApiDocument>();
        return services;
    }
}
