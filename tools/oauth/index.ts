// A tiny OAuth 2.0 authorization server for tests (client credentials, RS256 JWTs, JWKS).
export {
  DEFAULT_OAUTH_CLIENTS,
  startOAuthServer,
  type IssueOptions,
  type OAuthClientSpec,
  type OAuthCounts,
  type OAuthFailure,
  type OAuthServerHandle,
  type OAuthServerInfo,
  type StartOAuthServerOptions,
} from './server.ts';
