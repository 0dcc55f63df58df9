using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Accounts;
using Serverless.Functions.Cleanup;
using Serverless.Functions.Deletion;
using Serverless.Functions.Health;
using Serverless.Functions.Http;
using Serverless.Functions.Items;
using Serverless.Functions.Limits;
using Serverless.Functions.Mail;
using Serverless.Functions.Mfa;
using Serverless.Functions.OpenApi;
using Serverless.Functions.Passkeys;
using Serverless.Functions.Passwords;
using Serverless.Functions.Sessions;
using Serverless.Functions.Storage;
using Serverless.Functions.Telemetry;
using Serverless.Functions.Tokens;

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
        var auth = AuthOptions.FromConfiguration(configuration);
        services.AddSingleton(auth);
        services.AddSingleton<AccountKeys>();
        services.AddSingleton<PasswordPolicy>();
        services.AddSingleton<PasswordHasher>();
        services.AddSingleton<AccessTokens>();
        services.AddSingleton<UserStore>();
        services.AddSingleton<WindowCounterStore>();
        services.AddSingleton<LoginThrottleStore>();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<CredentialCheck>();

        // Abuse limits (docs/api.md): hashes in flight per instance, signups and failed logins per client address, and where
        // that address comes from; settings checked now.
        services.AddSingleton(AbuseLimits.FromConfiguration(configuration, auth));
        services.AddSingleton<HashSlots>();
        services.AddSingleton<ClientLimitStore>();
        services.AddSingleton<ClientLimiter>();
        services.AddSingleton<ClientAddresses>();
        services.AddSingleton<AccountService>();

        // Sessions (rows in the account's partition of Users) and password change.
        services.AddSingleton<RefreshSecrets>();
        services.AddSingleton<SessionStore>();
        services.AddSingleton<SessionService>();
        services.AddSingleton<PasswordChangeService>();
        services.AddSingleton<ExpiredRowsCleanup>();

        // Mail: settings checked now; SMTP locally (smtp4dev), Azure Communication Services in Azure. The outbox keeps
        // every mail until it is sent, and its timer (MailOutboxFunction) sends what a request could not.
        services.AddMail(configuration);

        // Passkeys: settings checked now (relying-party id and origins); challenges and the credential-id index in tables of their own.
        services.AddSingleton(PasskeyOptions.FromConfiguration(configuration));
        services.AddSingleton<ChallengeStore>();
        services.AddSingleton<PasskeyStore>();
        services.AddSingleton<PasskeyCeremonies>();
        services.AddSingleton<PasskeyService>();

        // Two-step sign-in (Mfa/): the secrets' key checked now; its rows live in the account's partition of Users.
        services.AddSingleton(MfaOptions.FromConfiguration(configuration));
        services.AddSingleton<TotpSecretProtector>();
        services.AddSingleton<TotpCodes>();
        services.AddSingleton<MfaStore>();
        services.AddSingleton<MfaNotices>();
        services.AddSingleton<SignInCompletion>();
        services.AddSingleton<MfaService>();

        // Items.
        services.AddSingleton<ItemCursor>();
        services.AddSingleton<ItemStore>();
        services.AddSingleton<ItemService>();

        // Account deletion: the purge queue on the host's storage (AzureWebJobsStorage), checked now like the tables, and the
        // recovery timer that enqueues again a purge whose message was lost or poisoned.
        services.AddSingleton(PurgeJobs.FromConfiguration(configuration));
        services.TryAddSingleton(PurgeLimits.Default);
        services.AddSingleton<AccountDeletionService>();
        services.AddSingleton<PurgeRecovery>();

        services.AddSingleton<HealthCheck>();
        services.AddSingleton<OpenApiDocument>();
        return services;
    }
}
