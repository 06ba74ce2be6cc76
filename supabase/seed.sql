-- Demo data for the local stack (`npm start`): four users covering every caller class.
-- app_metadata.role marks admins and support; user_metadata is never trusted for that.
insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data)
values
  ('11111111-1111-4111-8111-111111111111', 'authenticated', 'authenticated', 'alice@mfuko.test', now(),
   '{"provider": "email", "providers": ["email"]}', '{"name": "Alice"}'),
  ('22222222-2222-4222-8222-222222222222', 'authenticated', 'authenticated', 'bob@mfuko.test', now(),
   '{"provider": "email", "providers": ["email"]}', '{"name": "Bob"}'),
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'authenticated', 'authenticated', 'admin@mfuko.test', now(),
   '{"provider": "email", "providers": ["email"], "role": "admin"}', '{"name": "Ada Admin"}'),
  ('55555555-5555-4555-8555-555555555555', 'authenticated', 'authenticated', 'support@mfuko.test', now(),
   '{"provider": "email", "providers": ["email"], "role": "support"}', '{"name": "Sam Support"}')
on conflict (id) do nothing;
