CREATE TABLE "github_repo_access" (
	"user_id" uuid NOT NULL,
	"repo" text NOT NULL,
	"can_read" boolean NOT NULL,
	"verified_until" timestamp with time zone NOT NULL,
	CONSTRAINT "github_repo_access_user_id_repo_pk" PRIMARY KEY("user_id","repo")
);
--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "github_org_name" text;--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "source" text DEFAULT 'broker' NOT NULL;--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "verified_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "github_repo" text;--> statement-breakpoint
ALTER TABLE "github_tokens" ADD COLUMN "synced_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "github_tokens" ADD COLUMN "sync_error" text;--> statement-breakpoint
ALTER TABLE "github_tokens" ADD COLUMN "sync_error_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "github_tokens" ADD COLUMN "sync_claimed_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "github_repo_access" ADD CONSTRAINT "github_repo_access_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "organizations_github_org_name_idx" ON "organizations" USING btree (lower("github_org_name"));