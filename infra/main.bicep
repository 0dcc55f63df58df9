targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; it seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region for all resources. It must offer Flex Consumption: az functionapp list-flexconsumption-locations.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the person or pipeline running azd (AZURE_PRINCIPAL_ID); empty grants nothing.')
param principalId string = ''

@description('Kind of principalId: set AZURE_PRINCIPAL_TYPE=ServicePrincipal when a pipeline runs azd.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Extra browser origins allowed to call the API, e.g. a custom domain. Never \'*\'.')
param corsAllowedOrigins array = []

// Behind an Azure Front Door profile, its id (X-Azure-FDID) makes the per-address limits count the client address Front
// Door saw instead of its edge address (Functions/Http/ClientAddresses.cs). Kept out of the deployment's history: with it a
// request that bypasses Front Door could claim any address.
@secure()
@description('The Front Door profile\'s id (X-Azure-FDID, a GUID; azd env AZURE_FRONT_DOOR_ID) when the app runs behind one; empty when clients reach the app directly.')
param frontDoorId string = ''

@secure()
@description('The signing key already in the vault, read back by azd (secretOrRandomPassword in main.parameters.json); shorter than 32 characters means there is none yet.')
param existingSigningKey string = ''

@description('Version of the auth-signing-key secret before the last rotation (azd env AUTH_PREVIOUS_SIGNING_KEY_VERSION). While set, the app still accepts tokens that version signed; empty outside a rotation.')
param previousSigningKeyVersion string = ''

// Used only when the vault holds no key yet. newGuid() is the only randomness Bicep offers and is
// allowed only here. Three version-4 GUIDs carry 3 x 122 = 366 random bits in 108 characters,
// more than HS256's 256; two would give only 244. Rotating to `openssl rand -base64 48` output
// is still recommended (infra/README.md).
@secure()
@description('Fresh JWT signing key for the first deployment. Leave the default.')
param generatedSigningKey string = '${newGuid()}${newGuid()}${newGuid()}'

@secure()
@description('The account-key secret already in the vault, read back by azd like the signing key; shorter than 32 characters means there is none yet.')
param existingIdentifierHashKey string = ''

// The HMAC secret account keys are derived from (Auth:IdentifierHashKey). Unlike the signing key it must never change
// once accounts exist: every account's table key is derived from it. Generated once, then always read back.
@secure()
@description('Fresh account-key secret for the first deployment. Leave the default.')
param generatedIdentifierHashKey string = '${newGuid()}${newGuid()}${newGuid()}'

@secure()
@description('The two-step sign-in secrets\' key already in the vault, read back by azd like the signing key; shorter than 32 characters means there is none yet.')
param existingTotpSecretKey string = ''

@description('Version of the auth-totp-secret-key secret before the last rotation (azd env AUTH_PREVIOUS_TOTP_KEY_VERSION). While set, secrets it encrypted still decrypt (each is encrypted again when next used); empty outside a rotation.')
param previousTotpKeyVersion string = ''

// The key that encrypts authenticator secrets at rest (Auth:TotpSecretKey, docs/mfa.md), generated like the signing key.
@secure()
@description('Fresh key for the two-step sign-in secrets for the first deployment. Leave the default.')
param generatedTotpSecretKey string = '${newGuid()}${newGuid()}${newGuid()}'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var deploymentContainerName = 'app-package'
var signingKeySecretName = 'auth-signing-key'
var identifierHashKeySecretName = 'auth-identifier-hash-key'
var totpSecretKeySecretName = 'auth-totp-secret-key'
var totpSecretKey = length(existingTotpSecretKey) >= 32 ? existingTotpSecretKey : generatedTotpSecretKey
var identifierHashKey = length(existingIdentifierHashKey) >= 32 ? existingIdentifierHashKey : generatedIdentifierHashKey

// Re-provisioning keeps the key in the vault instead of rotating it (and logging everyone out).
var signingKey = length(existingSigningKey) >= 32 ? existingSigningKey : generatedSigningKey

// Static Web Apps exist in a few regions only; the content is served globally either way.
var staticWebAppRegions = ['centralus', 'eastasia', 'eastus2', 'westeurope', 'westus2']
var staticWebAppLocation = contains(staticWebAppRegions, location) ? location : 'eastus2'

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    signingKeySecretName: signingKeySecretName
    signingKey: signingKey
    previousSigningKeyVersion: previousSigningKeyVersion
    identifierHashKeySecretName: identifierHashKeySecretName
    identifierHashKey: identifierHashKey
    totpSecretKeySecretName: totpSecretKeySecretName
    totpSecretKey: totpSecretKey
    previousTotpKeyVersion: previousTotpKeyVersion
  }
}

module web 'modules/staticwebapp.bicep' = {
  name: 'web'
  scope: rg
  params: {
    name: '${abbrs.webStaticSites}${resourceToken}'
    location: staticWebAppLocation
    tags: tags
  }
}

module appAccess 'modules/app-access.bicep' = {
  name: 'app-access'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module userAccess 'modules/user-access.bicep' = if (!empty(principalId)) {
  name: 'user-access'
  scope: rg
  params: {
    principalId: principalId
    principalType: principalType
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
  }
}

module communication 'modules/communication.bicep' = {
  name: 'communication'
  scope: rg
  params: {
    communicationName: '${abbrs.communicationCommunicationServices}${resourceToken}'
    emailName: '${abbrs.communicationEmailServices}${resourceToken}'
    tags: tags
    principalId: identity.outputs.principalId
  }
}

module api 'modules/functionapp.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: '${abbrs.webSitesFunctions}api-${resourceToken}'
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    signingKeyUri: keyVault.outputs.signingKeyUri
    previousSigningKeyUri: keyVault.outputs.previousSigningKeyUri
    identifierHashKeyUri: keyVault.outputs.identifierHashKeyUri
    totpKeyUri: keyVault.outputs.totpKeyUri
    previousTotpKeyUri: keyVault.outputs.previousTotpKeyUri
    allowedOrigins: union(['https://${web.outputs.defaultHostname}'], corsAllowedOrigins)
    mailEndpoint: communication.outputs.endpoint
    mailSenderAddress: communication.outputs.senderAddress
    pageOrigin: 'https://${web.outputs.defaultHostname}'
    passkeyRelyingPartyId: web.outputs.defaultHostname
    frontDoorId: frontDoorId
  }
  // The app starts as soon as it exists: grant its identity storage and Key Vault access first,
  // so the host and the Key Vault reference do not begin by failing.
  dependsOn: [
    appAccess
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output API_BASE_URL string = 'https://${api.outputs.defaultHostName}/api'
output WEB_URL string = 'https://${web.outputs.defaultHostname}'
output AZURE_STATIC_WEB_APP_NAME string = web.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
